"""Scaled dot-product attention and multi-head attention, written out in full.

The chapter *Attention* builds both inline and checks them against PyTorch's own
``torch.nn.functional.scaled_dot_product_attention`` and ``torch.nn.MultiheadAttention``::

    from dlbook.models.attention import MultiHeadAttention, attention

    context, weights = attention(q, k, v, mask)        # mask: True where a query may look
    mha = MultiHeadAttention(embed_dim=8, num_heads=2)
    out, weights = mha(x, x, x, key_padding_mask=pad)   # pad: True where a key is padding

Two mask conventions, both PyTorch's:

- :func:`attention` takes ``mask`` as ``F.scaled_dot_product_attention`` takes a boolean
  ``attn_mask``: **True means "may attend"**.
- :class:`MultiHeadAttention` takes ``key_padding_mask`` and ``attn_mask`` as
  ``nn.MultiheadAttention`` does: **True means "ignore this key"**.

A query that may attend to no key at all gets zero weights and a zero context vector (as
``F.scaled_dot_product_attention`` gives; ``nn.MultiheadAttention`` gives NaN there).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import positive_int

__all__ = ["attention", "MultiHeadAttention"]


def attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: torch.Tensor | None = None,
              *, scale: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Scaled dot-product attention: :math:`\mathrm{softmax}(QK^\top / \sqrt{d})\,V`.

    Parameters
    ----------
    query : torch.Tensor
        ``(..., L_q, d)``: one row per query.
    key : torch.Tensor
        ``(..., L_k, d)``: one row per key; the same ``d`` as the queries.
    value : torch.Tensor
        ``(..., L_k, d_v)``: one row per key.
    mask : torch.Tensor of bool, optional
        Broadcastable to ``(..., L_q, L_k)``; **True where the query may attend to the key**
        (the convention of ``F.scaled_dot_product_attention``). A masked key gets weight 0.
    scale : float, optional
        Multiplies the dot products; default :math:`1/\sqrt{d}`.

    Returns
    -------
    context : torch.Tensor
        ``(..., L_q, d_v)``: for each query, the weighted average of the values.
    weights : torch.Tensor
        ``(..., L_q, L_k)``: the attention weights; each row sums to 1 (or is all 0 if the mask
        allows no key for that query).
    """
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, torch.Tensor) or t.ndim < 2:
            raise TypeError(f"{name} must be a tensor with at least 2 dimensions (..., L, d), "
                            f"got {getattr(t, 'shape', type(t).__name__)}")
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(f"query and key must have the same last dimension d, got {query.shape[-1]} "
                         f"and {key.shape[-1]}")
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(f"key and value must have the same number of rows L_k, got {key.shape[-2]} "
                         f"and {value.shape[-2]}")
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    scores = query @ key.transpose(-2, -1) * scale             # (..., L_q, L_k) alignment scores
    if mask is not None:
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            raise TypeError(f"mask must be a bool tensor (True where a query may attend), "
                            f"got {getattr(mask, 'dtype', type(mask).__name__)}")
        try:
            mask = mask.expand_as(scores)
        except RuntimeError:
            raise ValueError(f"mask of shape {tuple(mask.shape)} does not broadcast to the scores' shape "
                             f"{tuple(scores.shape)} (..., L_q, L_k)") from None
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)               # rows with no allowed key: NaN -> 0
    return weights @ value, weights


class MultiHeadAttention(nn.Module):
    """Multi-head attention with the parameters and arguments of ``nn.MultiheadAttention``.

    Queries, keys and values are projected by one stacked matrix ``in_proj_weight``
    ``(3 * embed_dim, embed_dim)`` (query rows first, then key rows, then value rows), split into
    ``num_heads`` heads of ``embed_dim // num_heads`` features each, attended head by head with
    :func:`attention`, concatenated and projected by ``out_proj``. The parameter names are
    PyTorch's, so ``nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)`` loads this
    module's ``state_dict`` as it is, and the other way round.

    Parameters
    ----------
    embed_dim : int
        Features per element (``d_model``).
    num_heads : int
        Number of heads; must divide ``embed_dim``.
    bias : bool, default True
        Biases on the input and output projections.

    Notes
    -----
    Always batch-first: tensors are ``(N, L, embed_dim)``. No dropout on the weights. The
    initialisation is PyTorch's (Xavier-uniform ``in_proj_weight``, zero biases).
    """

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True) -> None:
        super().__init__()
        positive_int("embed_dim", embed_dim)
        positive_int("num_heads", num_heads)
        if embed_dim % num_heads:
            raise ValueError(f"num_heads must divide embed_dim, got embed_dim={embed_dim}, num_heads={num_heads}")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * embed_dim)) if bias else None
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's initialisation: Xavier-uniform input projection, zero biases."""
        nn.init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            nn.init.zeros_(self.in_proj_bias)
            nn.init.zeros_(self.out_proj.bias)

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        n, length, _ = x.shape                                   # (N, L, E) -> (N, h, L, E/h)
        return x.reshape(n, length, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                key_padding_mask: torch.Tensor | None = None, need_weights: bool = True,
                attn_mask: torch.Tensor | None = None,
                average_attn_weights: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend from ``query`` ``(N, L_q, E)`` to ``key``/``value`` ``(N, L_k, E)``.

        Parameters
        ----------
        key_padding_mask : torch.Tensor of bool, optional
            ``(N, L_k)``; **True where the key is padding** and must be ignored.
        need_weights : bool, default True
            Also return the attention weights.
        attn_mask : torch.Tensor of bool, optional
            ``(L_q, L_k)`` or ``(N * num_heads, L_q, L_k)``; **True where attention is not
            allowed** (a causal mask, for instance).
        average_attn_weights : bool, default True
            Average the returned weights over the heads: ``(N, L_q, L_k)``; otherwise
            ``(N, num_heads, L_q, L_k)``.

        Returns
        -------
        output : torch.Tensor
            ``(N, L_q, E)``.
        weights : torch.Tensor or None
        """
        for name, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, torch.Tensor) or t.ndim != 3 or t.shape[-1] != self.embed_dim:
                raise ValueError(f"{name} must have shape (N, L, {self.embed_dim}) (batch first), "
                                 f"got {tuple(getattr(t, 'shape', ()))}")
        n, lq, lk = query.shape[0], query.shape[1], key.shape[1]
        if key.shape[:2] != value.shape[:2] or key.shape[0] != n:
            raise ValueError(f"query, key and value must share N, and key and value L_k; got shapes "
                             f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = (None,) * 3 if self.in_proj_bias is None else self.in_proj_bias.chunk(3)
        q = self._split_heads(F.linear(query, w_q, b_q))
        k = self._split_heads(F.linear(key, w_k, b_k))
        v = self._split_heads(F.linear(value, w_v, b_v))
        allowed = torch.ones(n, self.num_heads, lq, lk, dtype=torch.bool, device=query.device)
        if key_padding_mask is not None:
            if key_padding_mask.dtype != torch.bool or tuple(key_padding_mask.shape) != (n, lk):
                raise ValueError(f"key_padding_mask must be a bool tensor of shape ({n}, {lk}), got "
                                 f"{key_padding_mask.dtype} {tuple(key_padding_mask.shape)}")
            allowed = allowed & ~key_padding_mask[:, None, None, :]
        if attn_mask is not None:
            if attn_mask.dtype != torch.bool:
                raise ValueError(f"attn_mask must be a bool tensor (True = not allowed), got {attn_mask.dtype}")
            if tuple(attn_mask.shape) == (lq, lk):
                allowed = allowed & ~attn_mask
            elif tuple(attn_mask.shape) == (n * self.num_heads, lq, lk):
                allowed = allowed & ~attn_mask.reshape(n, self.num_heads, lq, lk)
            else:
                raise ValueError(f"attn_mask must have shape ({lq}, {lk}) or ({n * self.num_heads}, {lq}, {lk}), "
                                 f"got {tuple(attn_mask.shape)}")
        context, weights = attention(q, k, v, allowed)           # (N, h, L_q, E/h), (N, h, L_q, L_k)
        output = self.out_proj(context.transpose(1, 2).reshape(n, lq, self.embed_dim))
        if not need_weights:
            return output, None
        return output, weights.mean(dim=1) if average_attn_weights else weights
