"""Tests of dlbook.models.transformer: masks, sinusoidal positions, the layers and stacks against
PyTorch's nn.Transformer* modules with copied weights, masks respected, the causal mask never
leaking the future, bad arguments, and a few training steps that lower the loss."""

import math

import pytest
import torch
from torch import nn

from dlbook.models.transformer import (
    DecoderLayer,
    EncoderLayer,
    PositionalEncoding,
    TransformerDecoder,
    TransformerEncoder,
    causal_mask,
    padding_mask,
    sinusoidal_encoding,
)

D, H, FF = 8, 2, 16


def seeded(seed: int = 0) -> torch.Generator:
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------------------------
# masks
# ------------------------------------------------------------------------------------------------
def test_causal_mask_blocks_exactly_the_future():
    m = causal_mask(4)
    assert m.dtype == torch.bool and m.shape == (4, 4)
    expected = torch.tensor([[0, 1, 1, 1], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]], dtype=torch.bool)
    assert torch.equal(m, expected)
    assert torch.equal(m, nn.Transformer.generate_square_subsequent_mask(4) == float("-inf"))


def test_padding_mask_marks_positions_past_each_length():
    m = padding_mask(torch.tensor([3, 1, 2]))
    assert m.dtype == torch.bool and m.shape == (3, 3)
    assert m.tolist() == [[False, False, False], [False, True, True], [False, False, True]]
    assert padding_mask([2, 2], max_len=4).shape == (2, 4)


@pytest.mark.parametrize("bad", [0, -1, 2.0, True])
def test_causal_mask_rejects_a_bad_length(bad):
    with pytest.raises((ValueError, TypeError), match="n must"):
        causal_mask(bad)


def test_padding_mask_rejects_bad_input():
    with pytest.raises(ValueError, match="at least 1"):
        padding_mask([2, 0])
    with pytest.raises(ValueError, match="max_len"):
        padding_mask([2, 5], max_len=3)
    with pytest.raises(ValueError, match="lengths"):
        padding_mask([1.5, 2.0])


# ------------------------------------------------------------------------------------------------
# positional encoding
# ------------------------------------------------------------------------------------------------
def test_sinusoidal_encoding_follows_the_formula():
    pe = sinusoidal_encoding(10, 6)
    assert pe.shape == (10, 6) and pe.dtype == torch.float32
    for t in range(10):
        for i in range(3):
            omega = 10000 ** (-2 * i / 6)
            assert pe[t, 2 * i].item() == pytest.approx(math.sin(t * omega), abs=1e-6)
            assert pe[t, 2 * i + 1].item() == pytest.approx(math.cos(t * omega), abs=1e-6)
    assert pe.abs().max() <= 1


def test_dot_products_of_positions_depend_only_on_their_distance():
    pe = sinusoidal_encoding(20, 16).double()
    gram = pe @ pe.T
    for k in range(-5, 6):
        diagonal = torch.diagonal(gram, offset=k)
        assert torch.allclose(diagonal, diagonal[0].expand_as(diagonal), atol=1e-5)


def test_positional_encoding_adds_the_codes_and_is_not_trained():
    module = PositionalEncoding(8, max_len=12)
    x = torch.randn(3, 5, 8)
    assert torch.allclose(module(x), x + sinusoidal_encoding(12, 8)[:5])
    assert list(module.parameters()) == []
    assert "pe" not in module.state_dict()
    with pytest.raises(ValueError, match="max_len"):
        module(torch.randn(1, 13, 8))
    with pytest.raises(ValueError, match=r"\(N, L, 8\)"):
        module(torch.randn(1, 5, 7))
    with pytest.raises(ValueError, match="even"):
        PositionalEncoding(7)


def test_positional_encoding_breaks_permutation_equivariance():
    seeded(1)
    attn = nn.MultiheadAttention(D, H, batch_first=True).eval()
    x = torch.randn(2, 6, D)
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    with torch.no_grad():
        out = attn(x, x, x, need_weights=False)[0]
        out_perm = attn(x[:, perm], x[:, perm], x[:, perm], need_weights=False)[0]
        assert torch.allclose(out_perm, out[:, perm], atol=1e-6)
        pe = PositionalEncoding(D)
        y, y_perm = pe(x), pe(x[:, perm])
        out = attn(y, y, y, need_weights=False)[0]
        out_perm = attn(y_perm, y_perm, y_perm, need_weights=False)[0]
        assert not torch.allclose(out_perm, out[:, perm], atol=1e-3)


# ------------------------------------------------------------------------------------------------
# layers and stacks against PyTorch's modules
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_matches_pytorch_with_copied_weights(norm_first):
    seeded(2)
    ours = EncoderLayer(D, H, FF, dropout=0.1, norm_first=norm_first).eval()
    theirs = nn.TransformerEncoderLayer(D, H, FF, dropout=0.1, batch_first=True, norm_first=norm_first).eval()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(3, 5, D)
    pad = padding_mask([5, 3, 4])
    with torch.no_grad():
        a = ours(x, key_padding_mask=pad)
        b = theirs(x, src_key_padding_mask=pad)
        assert a.shape == (3, 5, D)
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(ours(x, mask=causal_mask(5)), theirs(x, src_mask=causal_mask(5)))


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_pytorch_with_copied_weights(norm_first):
    seeded(3)
    ours = DecoderLayer(D, H, FF, dropout=0.1, norm_first=norm_first).eval()
    theirs = nn.TransformerDecoderLayer(D, H, FF, dropout=0.1, batch_first=True, norm_first=norm_first).eval()
    theirs.load_state_dict(ours.state_dict())
    y, memory = torch.randn(3, 4, D), torch.randn(3, 6, D)
    pad = padding_mask([6, 2, 5])
    with torch.no_grad():
        a = ours(y, memory, tgt_mask=causal_mask(4), memory_key_padding_mask=pad)
        b = theirs(y, memory, tgt_mask=causal_mask(4), memory_key_padding_mask=pad)
    assert a.shape == (3, 4, D)
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("norm_first", [False, True])
def test_stacks_match_pytorch_with_copied_weights(norm_first):
    seeded(4)
    encoder = TransformerEncoder(EncoderLayer(D, H, FF, norm_first=norm_first), 3, norm=nn.LayerNorm(D)).eval()
    decoder = TransformerDecoder(DecoderLayer(D, H, FF, norm_first=norm_first), 2, norm=nn.LayerNorm(D)).eval()
    for layer in [*encoder.layers, *decoder.layers]:      # make the copies differ
        for p in layer.parameters():
            nn.init.normal_(p, std=0.3)
    pt_encoder = nn.TransformerEncoder(
        nn.TransformerEncoderLayer(D, H, FF, batch_first=True, norm_first=norm_first), 3,
        norm=nn.LayerNorm(D), enable_nested_tensor=False).eval()
    pt_decoder = nn.TransformerDecoder(
        nn.TransformerDecoderLayer(D, H, FF, batch_first=True, norm_first=norm_first), 2,
        norm=nn.LayerNorm(D)).eval()
    pt_encoder.load_state_dict(encoder.state_dict())
    pt_decoder.load_state_dict(decoder.state_dict())
    x, y = torch.randn(2, 5, D), torch.randn(2, 3, D)
    pad = padding_mask([5, 4])
    with torch.no_grad():
        memory = encoder(x, key_padding_mask=pad)
        torch.testing.assert_close(memory[~pad], pt_encoder(x, src_key_padding_mask=pad)[~pad])
        out = decoder(y, memory, tgt_mask=causal_mask(3), memory_key_padding_mask=pad)
        pt_out = pt_decoder(y, memory, tgt_mask=causal_mask(3), memory_key_padding_mask=pad)
    torch.testing.assert_close(out, pt_out)


def test_stack_layers_are_independent_copies():
    encoder = TransformerEncoder(EncoderLayer(D, H, FF), 2)
    a, b = encoder.layers
    assert a is not b and a.linear1.weight is not b.linear1.weight
    assert torch.equal(a.linear1.weight, b.linear1.weight)


# ------------------------------------------------------------------------------------------------
# masks respected
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("norm_first", [False, True])
def test_changing_a_padded_token_changes_no_real_output(norm_first):
    seeded(5)
    encoder = TransformerEncoder(EncoderLayer(D, H, FF, norm_first=norm_first), 2).eval()
    decoder = TransformerDecoder(DecoderLayer(D, H, FF, norm_first=norm_first), 2).eval()
    x = torch.randn(3, 6, D)
    pad = padding_mask([6, 4, 2])
    x2 = x.clone()
    x2[pad] = torch.randn(int(pad.sum()), D) * 10       # overwrite every padding position
    y = torch.randn(3, 4, D)
    with torch.no_grad():
        m1, m2 = encoder(x, key_padding_mask=pad), encoder(x2, key_padding_mask=pad)
        assert torch.equal(m1[~pad], m2[~pad])
        d1 = decoder(y, m1, tgt_mask=causal_mask(4), memory_key_padding_mask=pad)
        d2 = decoder(y, m2, tgt_mask=causal_mask(4), memory_key_padding_mask=pad)
    torch.testing.assert_close(d1, d2, rtol=0, atol=1e-6)


@pytest.mark.parametrize("t", [0, 2, 4])
def test_the_causal_mask_never_leaks_the_future(t):
    seeded(6)
    decoder = TransformerDecoder(DecoderLayer(D, H, FF, norm_first=True), 2, norm=nn.LayerNorm(D)).eval()
    encoder = TransformerEncoder(EncoderLayer(D, H, FF), 2).eval()
    y, memory = torch.randn(2, 6, D), torch.randn(2, 5, D)
    y2 = y.clone()
    y2[:, t + 1] = torch.randn(2, D)                      # change token t + 1 only
    with torch.no_grad():
        a = decoder(y, memory, tgt_mask=causal_mask(6))
        b = decoder(y2, memory, tgt_mask=causal_mask(6))
        assert torch.equal(a[:, : t + 1], b[:, : t + 1])   # nothing at positions <= t moves
        assert not torch.allclose(a[:, t + 1], b[:, t + 1])
        # a decoder-only model: an encoder stack with the causal mask
        c = encoder(y, mask=causal_mask(6))
        d = encoder(y2, mask=causal_mask(6))
    assert torch.equal(c[:, : t + 1], d[:, : t + 1])


def test_attention_weights_are_kept_on_request():
    seeded(7)
    decoder = TransformerDecoder(DecoderLayer(D, H, FF), 2).eval()
    decoder.keep_weights = True
    assert decoder.keep_weights
    with torch.no_grad():
        decoder(torch.randn(2, 3, D), torch.randn(2, 5, D), tgt_mask=causal_mask(3))
    w = decoder.layers[1].attn_weights
    assert w["self"].shape == (2, H, 3, 3) and w["cross"].shape == (2, H, 3, 5)
    assert torch.allclose(w["cross"].sum(-1), torch.ones(2, H, 3))
    assert torch.all(w["self"][..., causal_mask(3)] == 0)


# ------------------------------------------------------------------------------------------------
# bad arguments
# ------------------------------------------------------------------------------------------------
def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="n_heads"):
        EncoderLayer(10, 3)
    with pytest.raises(ValueError, match="dropout"):
        DecoderLayer(8, 2, dropout=1.5)
    with pytest.raises(TypeError, match="norm_first"):
        EncoderLayer(8, 2, norm_first="yes")
    with pytest.raises(ValueError, match="activation"):
        EncoderLayer(8, 2, activation="tanh")
    with pytest.raises(TypeError, match="layer must be a EncoderLayer"):
        TransformerEncoder(DecoderLayer(8, 2), 2)
    with pytest.raises(ValueError, match="n_layers"):
        TransformerDecoder(DecoderLayer(8, 2), 0)
    layer = EncoderLayer(8, 2, 16)
    with pytest.raises(ValueError, match=r"\(N, L, 8\)"):
        layer(torch.randn(4, 8))
    with pytest.raises(ValueError, match="same number"):
        DecoderLayer(8, 2, 16)(torch.randn(2, 3, 8), torch.randn(3, 3, 8))


# ------------------------------------------------------------------------------------------------
# training
# ------------------------------------------------------------------------------------------------
class _TinySeq2Seq(nn.Module):
    """Reverse short digit strings: embeddings, positions, an encoder and a decoder stack."""

    def __init__(self, vocab: int = 11, d: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.pos = PositionalEncoding(d)
        self.encoder = TransformerEncoder(EncoderLayer(d, 2, 32, dropout=0.0, norm_first=True), 1,
                                          norm=nn.LayerNorm(d))
        self.decoder = TransformerDecoder(DecoderLayer(d, 2, 32, dropout=0.0, norm_first=True), 1,
                                          norm=nn.LayerNorm(d))
        self.out = nn.Linear(d, vocab)

    def forward(self, src, tgt_in):
        memory = self.encoder(self.pos(self.embed(src)))
        h = self.decoder(self.pos(self.embed(tgt_in)), memory, tgt_mask=causal_mask(tgt_in.shape[1]))
        return self.out(h)


def test_a_few_steps_lower_the_loss():
    g = seeded(8)
    src = torch.randint(1, 11, (64, 5), generator=g)
    tgt = src.flip(1)
    tgt_in = torch.cat([torch.zeros(64, 1, dtype=torch.long), tgt[:, :-1]], dim=1)   # 0 = start
    model = _TinySeq2Seq()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss = nn.functional.cross_entropy(model(src, tgt_in).transpose(1, 2), tgt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0], losses
