"""Tests of dlbook.models.seq2seq: shapes, what teacher forcing feeds the decoder, that evaluation
never looks at the target, attention weights and source masks, and a few training steps."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlbook.data import make_noisy_squares
from dlbook.models.seq2seq import AttentionDecoder, Decoder, Encoder, EncoderDecoder


def _model(tf=0.5, hidden=4, attn=False, seed=0, input_len=2, target_len=2):
    torch.manual_seed(seed)
    decoder = AttentionDecoder(2, hidden) if attn else Decoder(2, hidden)
    return EncoderDecoder(Encoder(2, hidden), decoder, input_len, target_len, tf)


@pytest.mark.parametrize("attn", [False, True])
def test_shapes(attn):
    enc = Encoder(2, 5)
    outputs, hidden = enc(torch.randn(3, 4, 2))
    assert outputs.shape == (3, 4, 5) and hidden.shape == (1, 3, 5)
    torch.testing.assert_close(outputs[:, -1], hidden[0])
    dec = AttentionDecoder(2, 5) if attn else Decoder(2, 5)
    pred, new_hidden, w = dec(torch.randn(3, 1, 2), hidden, outputs)
    assert pred.shape == (3, 1, 2) and new_hidden.shape == (1, 3, 5)
    assert (w is None) if not attn else (w.shape == (3, 1, 4))
    model = _model(attn=attn, input_len=3, target_len=4)
    model.eval()
    assert model(torch.randn(6, 3, 2)).shape == (6, 4, 2)
    assert (model.alphas is None) if not attn else (model.alphas.shape == (6, 4, 3))


@pytest.mark.parametrize("attn", [False, True])
def test_evaluation_uses_only_the_source(attn):
    model = _model(tf=1.0, attn=attn).eval()
    x = torch.randn(5, 4, 2)
    source_only = model(x[:, :2])
    torch.testing.assert_close(model(x), source_only)
    x2 = x.clone()
    x2[:, 2:] = 99.0                          # a different target cannot change the prediction
    torch.testing.assert_close(model(x2), source_only)


def test_no_teacher_forcing_in_training_equals_evaluation():
    model = _model(tf=0.0)
    x = torch.randn(5, 4, 2)
    train_out = model.train()(x[:, :2])       # the source is enough without teacher forcing
    torch.testing.assert_close(train_out, model.eval()(x))


def test_full_teacher_forcing_feeds_the_true_targets():
    """With tf = 1 the decoder's inputs are the last source point and the targets but the last,
    so one nn.GRU call over that shifted sequence gives the same predictions as the loop."""
    model = _model(tf=1.0, hidden=3, input_len=3, target_len=4).train()
    x = torch.randn(2, 7, 2)
    out = model(x)
    _, hidden = model.encoder(x[:, :3])
    shifted = x[:, 2:6]                       # last source element + first three targets
    states, _ = model.decoder.rnn(shifted, hidden)
    torch.testing.assert_close(out, model.decoder.regression(states))
    # and the targets matter now
    x2 = x.clone()
    x2[:, 3] += 1.0
    assert not torch.allclose(model(x2), out)


def test_teacher_forcing_is_reproducible_from_the_global_seed():
    model = _model(tf=0.5)
    x = torch.randn(4, 4, 2)
    torch.manual_seed(1)
    a = model(x)
    torch.manual_seed(1)
    torch.testing.assert_close(model(x), a)


def test_source_mask_gives_padded_positions_zero_attention():
    model = _model(attn=True, input_len=4, target_len=3).eval()
    x = torch.randn(2, 4, 2)
    mask = torch.tensor([[True, True, True, True], [True, True, False, False]])
    model(x, source_mask=mask)
    assert model.alphas.shape == (2, 3, 4)
    assert (model.alphas[1, :, 2:] == 0).all()
    torch.testing.assert_close(model.alphas.sum(-1), torch.ones(2, 3))
    assert (model.alphas[0] > 0).all()


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="teacher_forcing_prob"):
        _model(tf=1.5)
    with pytest.raises(ValueError, match="teacher_forcing_prob"):
        _model(tf=True)
    model = _model(tf=0.5).train()
    with pytest.raises(ValueError, match="needs 4"):
        model(torch.randn(3, 2, 2))           # teacher forcing needs the target too
    with pytest.raises(ValueError, match="needs 2"):
        model.eval()(torch.randn(3, 1, 2))
    with pytest.raises(ValueError, match="x must be"):
        model(torch.randn(3, 2))
    with pytest.raises(TypeError, match="x must be"):
        model([[0.0, 1.0]])
    with pytest.raises(ValueError, match="source must have shape"):
        Encoder(2, 3)(torch.randn(3, 4, 5))
    with pytest.raises(TypeError, match="hidden_dim"):
        Encoder(2, 3.0)
    with pytest.raises(ValueError, match="n_features"):
        Decoder(0, 3)
    with pytest.raises(ValueError, match="encoder_outputs"):
        AttentionDecoder(2, 3)(torch.randn(1, 1, 2), torch.zeros(1, 1, 3))
    with pytest.raises(TypeError, match="nn.Module"):
        EncoderDecoder("encoder", Decoder(2, 3), 2, 2)


@pytest.mark.parametrize("attn", [False, True])
def test_a_few_steps_on_the_squares_lower_the_loss(attn):
    points, _ = make_noisy_squares(64, seed=13)
    model = _model(tf=0.5, hidden=4, attn=attn)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    model.eval()
    before = F.mse_loss(model(points[:, :2]), points[:, 2:]).item()
    model.train()
    for _ in range(40):
        loss = F.mse_loss(model(points), points[:, 2:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    after = F.mse_loss(model(points[:, :2]), points[:, 2:]).item()
    assert after < 0.5 * before, (before, after)


def test_the_parameter_names_are_the_documented_ones():
    model = _model(attn=True)
    names = {name for name, _ in model.named_parameters()}
    assert {"encoder.rnn.weight_ih_l0", "decoder.rnn.weight_hh_l0", "decoder.regression.weight",
            "decoder.query.weight", "decoder.key.bias"} <= names
    assert isinstance(model.decoder.regression, nn.Linear)
    assert model.decoder.regression.in_features == 8
