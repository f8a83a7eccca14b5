"""Tests of dlbook.models.attention: shapes, masks (masked keys get zero weight and cannot change
the output), agreement with PyTorch's scaled_dot_product_attention and nn.MultiheadAttention with
the same weights, and a few training steps that lower a loss."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlbook.models.attention import MultiHeadAttention, attention


def _qkv(n=3, lq=4, lk=5, d=6, dv=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, lq, d, generator=g), torch.randn(n, lk, d, generator=g),
            torch.randn(n, lk, dv, generator=g))


# ---------------------------------------------------------------------------------------------
# attention()
# ---------------------------------------------------------------------------------------------
def test_attention_shapes_and_rows_sum_to_one():
    q, k, v = _qkv()
    context, weights = attention(q, k, v)
    assert context.shape == (3, 4, 7) and weights.shape == (3, 4, 5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 4))
    assert (weights >= 0).all()


def test_attention_is_the_formula_with_sqrt_d_scaling():
    q, k, v = _qkv(d=16)
    expected_w = torch.softmax(q @ k.transpose(1, 2) / 4.0, dim=-1)
    context, weights = attention(q, k, v)
    torch.testing.assert_close(weights, expected_w)
    torch.testing.assert_close(context, expected_w @ v)
    _, unscaled = attention(q, k, v, scale=1.0)
    torch.testing.assert_close(unscaled, torch.softmax(q @ k.transpose(1, 2), dim=-1))


def test_attention_matches_scaled_dot_product_attention_with_a_mask():
    q, k, v = _qkv(d=8, dv=8)
    mask = torch.rand(3, 4, 5, generator=torch.Generator().manual_seed(1)) > 0.3
    mask[..., 0] = True                                    # every query may see at least one key
    context, _ = attention(q, k, v, mask)
    torch.testing.assert_close(context, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
    torch.testing.assert_close(attention(q, k, v)[0], F.scaled_dot_product_attention(q, k, v))


def test_masked_keys_get_zero_weight_and_changing_them_changes_nothing():
    q, k, v = _qkv()
    mask = torch.tensor([True, True, False, True, False]).expand(3, 4, 5)
    context, weights = attention(q, k, v, mask)
    assert (weights[..., [2, 4]] == 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 4))
    k2, v2 = k.clone(), v.clone()
    k2[:, [2, 4]] = 100 * torch.randn(3, 2, 6)
    v2[:, [2, 4]] = 100 * torch.randn(3, 2, 7)
    context2, weights2 = attention(q, k2, v2, mask)
    assert torch.equal(context, context2) and torch.equal(weights, weights2)


def test_a_query_with_no_allowed_key_gets_zeros_not_nan_and_finite_gradients():
    q, k, v = _qkv()
    q.requires_grad_(True)
    mask = torch.ones(3, 4, 5, dtype=torch.bool)
    mask[0, 1] = False
    context, weights = attention(q, k, v, mask)
    assert (weights[0, 1] == 0).all() and (context[0, 1] == 0).all()
    assert torch.isfinite(context).all()
    context.sum().backward()
    assert torch.isfinite(q.grad).all()
    torch.testing.assert_close(context, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))


def test_attention_broadcasts_a_mask_and_extra_batch_dimensions():
    g = torch.Generator().manual_seed(2)
    q, k, v = (torch.randn(2, 3, 4, 8, generator=g) for _ in range(3))
    causal = torch.ones(4, 4, dtype=torch.bool).tril()
    _, weights = attention(q, k, v, causal)
    assert weights.shape == (2, 3, 4, 4)
    assert (weights.triu(1) == 0).all()                     # no query looks at a later key


def test_attention_rejects_bad_input():
    q, k, v = _qkv()
    with pytest.raises(ValueError, match="same last dimension"):
        attention(q, k[..., :3], v)
    with pytest.raises(ValueError, match="number of rows"):
        attention(q, k, v[:, :2])
    with pytest.raises(TypeError, match="mask must be a bool"):
        attention(q, k, v, torch.ones(3, 4, 5))
    with pytest.raises(ValueError, match="does not broadcast"):
        attention(q, k, v, torch.ones(3, 4, 2, dtype=torch.bool))
    with pytest.raises(TypeError, match="query"):
        attention(torch.randn(4), k, v)


# ---------------------------------------------------------------------------------------------
# MultiHeadAttention
# ---------------------------------------------------------------------------------------------
def _pair(embed_dim=8, num_heads=2, bias=True, seed=0):
    torch.manual_seed(seed)
    ours = MultiHeadAttention(embed_dim, num_heads, bias=bias)
    with torch.no_grad():                   # non-zero biases, so that they are compared too
        for p in ours.parameters():
            p.add_(0.1 * torch.randn_like(p))
    theirs = nn.MultiheadAttention(embed_dim, num_heads, bias=bias, batch_first=True)
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def test_state_dict_has_pytorchs_names_and_shapes():
    ours = MultiHeadAttention(12, 3)
    theirs = nn.MultiheadAttention(12, 3, batch_first=True)
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: v.shape for k, v in theirs.state_dict().items()}
    assert sum(p.numel() for p in ours.parameters()) == 4 * 12 * 12 + 4 * 12


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("num_heads", [1, 2, 4])
def test_multi_head_attention_equals_pytorchs_with_the_same_weights(num_heads, bias):
    ours, theirs = _pair(8, num_heads, bias)
    g = torch.Generator().manual_seed(3)
    query, memory = torch.randn(3, 4, 8, generator=g), torch.randn(3, 6, 8, generator=g)
    pad = torch.zeros(3, 6, dtype=torch.bool)
    pad[1, 4:] = True
    pad[2, 2:] = True
    for average in (True, False):
        out, w = ours(query, memory, memory, key_padding_mask=pad, average_attn_weights=average)
        ref_out, ref_w = theirs(query, memory, memory, key_padding_mask=pad, average_attn_weights=average)
        torch.testing.assert_close(out, ref_out)
        torch.testing.assert_close(w, ref_w)
    out, none = ours(query, memory, memory, key_padding_mask=pad, need_weights=False)
    assert none is None
    torch.testing.assert_close(out, theirs(query, memory, memory, key_padding_mask=pad, need_weights=False)[0])


def test_attn_mask_matches_pytorch_in_both_layouts():
    ours, theirs = _pair(8, 2)
    x = torch.randn(2, 5, 8, generator=torch.Generator().manual_seed(4))
    future = torch.ones(5, 5, dtype=torch.bool).triu(1)      # True = not allowed
    out, w = ours(x, x, x, attn_mask=future, average_attn_weights=False)
    ref_out, ref_w = theirs(x, x, x, attn_mask=future, average_attn_weights=False)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(w, ref_w)
    assert (w.triu(1) == 0).all()
    per_head = future.expand(2 * 2, 5, 5)
    torch.testing.assert_close(ours(x, x, x, attn_mask=per_head)[0], ref_out)


def test_padded_keys_get_zero_weight_and_changing_them_changes_nothing():
    ours, _ = _pair(8, 2)
    g = torch.Generator().manual_seed(5)
    query, memory = torch.randn(2, 3, 8, generator=g), torch.randn(2, 4, 8, generator=g)
    pad = torch.tensor([[False, False, True, True], [False, False, False, True]])
    out, w = ours(query, memory, memory, key_padding_mask=pad, average_attn_weights=False)
    assert (w[0, ..., 2:] == 0).all() and (w[1, ..., 3] == 0).all()
    changed = memory.clone()
    changed[0, 2:] = 50 * torch.randn(2, 8, generator=g)
    changed[1, 3] = -50
    out2, w2 = ours(query, changed, changed, key_padding_mask=pad, average_attn_weights=False)
    torch.testing.assert_close(out2, out, rtol=0, atol=1e-6)
    torch.testing.assert_close(w2, w, rtol=0, atol=0)


def test_loading_pytorchs_weights_into_ours_works_too():
    theirs = nn.MultiheadAttention(6, 3, batch_first=True)
    ours = MultiHeadAttention(6, 3)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 4, 6)
    torch.testing.assert_close(ours(x, x, x)[0], theirs(x, x, x)[0])


def test_a_few_steps_lower_the_loss():
    """Learn to fetch, for each query, the value stored under the key that matches it."""
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4)
    opt = torch.optim.Adam(mha.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(6)
    keys = torch.randn(32, 6, 16, generator=g)
    pick = torch.randint(0, 6, (32, 2), generator=g)
    queries = keys[torch.arange(32)[:, None], pick]
    target = keys[torch.arange(32)[:, None], pick].flip(-1)
    losses = []
    for _ in range(60):
        out, _ = mha(queries, keys, keys)
        loss = F.mse_loss(out, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], (losses[0], losses[-1])


def test_multi_head_attention_rejects_bad_arguments():
    with pytest.raises(ValueError, match="divide"):
        MultiHeadAttention(10, 3)
    with pytest.raises(TypeError, match="embed_dim"):
        MultiHeadAttention(8.0, 2)
    with pytest.raises(ValueError, match="num_heads"):
        MultiHeadAttention(8, 0)
    mha = MultiHeadAttention(8, 2)
    x = torch.randn(2, 3, 8)
    with pytest.raises(ValueError, match="batch first"):
        mha(torch.randn(2, 3, 6), x, x)
    with pytest.raises(ValueError, match="key_padding_mask"):
        mha(x, x, x, key_padding_mask=torch.zeros(2, 3))
    with pytest.raises(ValueError, match="attn_mask must have shape"):
        mha(x, x, x, attn_mask=torch.zeros(2, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="share N"):
        mha(x, torch.randn(1, 3, 8), torch.randn(1, 3, 8))


def test_init_is_pytorchs():
    torch.manual_seed(0)
    mha = MultiHeadAttention(64, 4)
    assert (mha.in_proj_bias == 0).all() and (mha.out_proj.bias == 0).all()
    bound = math.sqrt(6 / (64 + 3 * 64))                     # Xavier-uniform on a (192, 64) matrix
    assert mha.in_proj_weight.abs().max() <= bound
    assert mha.in_proj_weight.abs().max() > 0.9 * bound
