"""The Transformer's pieces: masks, sinusoidal positions, encoder and decoder layers and stacks.

The chapter *Self-attention and positional encoding* builds :func:`causal_mask` and
:class:`PositionalEncoding` by hand; *The Transformer* builds :class:`EncoderLayer`,
:class:`DecoderLayer` and the two stacks, checks them against PyTorch's ``nn.Transformer*``
modules with the same weights, and trains three small models with them::

    from dlbook.models.transformer import (DecoderLayer, EncoderLayer, PositionalEncoding,
                                           TransformerDecoder, TransformerEncoder, causal_mask)

    encoder = TransformerEncoder(EncoderLayer(16, 2, 32, norm_first=True), 2,
                                 norm=nn.LayerNorm(16))
    decoder = TransformerDecoder(DecoderLayer(16, 2, 32, norm_first=True), 2,
                                 norm=nn.LayerNorm(16))
    positions = PositionalEncoding(16)
    memory = encoder(positions(torch.randn(8, 5, 16)))                 # (8, 5, 16)
    out = decoder(positions(torch.randn(8, 3, 16)), memory,
                  tgt_mask=causal_mask(3))                              # (8, 3, 16)

Everything is batch-first, ``(N, L, d_model)``. Masks follow ``nn.MultiheadAttention``: in a
boolean mask **True means "may not attend"** (a future position, a padding token); the opposite of
``torch.nn.functional.scaled_dot_product_attention``, where True means "may attend".

The layers use PyTorch's parameter names (``self_attn``, ``linear1``, ``norm1`` ...), so
``nn.TransformerEncoderLayer(..., batch_first=True)`` and ``nn.TransformerDecoderLayer`` load their
``state_dict`` as it is, and so do ``nn.TransformerEncoder`` and ``nn.TransformerDecoder`` that of
the stacks.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import positive_int as _positive_int, probability as _probability

__all__ = ["causal_mask", "padding_mask", "sinusoidal_encoding", "PositionalEncoding", "EncoderLayer",
           "DecoderLayer", "TransformerEncoder", "TransformerDecoder"]

_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"relu": F.relu, "gelu": F.gelu}


def _check_sequence(name: str, x, d_model: int) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a tensor of shape (N, L, {d_model}), got {type(x).__name__}")
    if x.ndim != 3 or x.shape[-1] != d_model:
        raise ValueError(f"{name} must have shape (N, L, {d_model}) (batch first), got {tuple(x.shape)}")


def causal_mask(n: int, device: torch.device | str | None = None) -> torch.Tensor:
    """The mask that stops every position from attending to later positions.

    Parameters
    ----------
    n : int
        Sequence length.
    device : torch.device or str, optional

    Returns
    -------
    torch.Tensor
        ``bool`` of shape ``(n, n)``, True strictly above the diagonal: entry ``[i, j]`` is True
        when query ``i`` may **not** look at key ``j`` (``j > i``), the convention of
        ``nn.MultiheadAttention``'s ``attn_mask`` and of the ``nn.Transformer*`` modules. It blocks
        exactly the positions that ``nn.Transformer.generate_square_subsequent_mask(n)`` sets to
        ``-inf``.
    """
    _positive_int("n", n)
    return torch.ones(n, n, dtype=torch.bool, device=device).triu(diagonal=1)


def padding_mask(lengths: torch.Tensor | Sequence[int], max_len: int | None = None) -> torch.Tensor:
    """The key-padding mask of a batch of right-padded sequences.

    Parameters
    ----------
    lengths : tensor or sequence of int
        The true length of each sequence, ``(N,)``; each at least 1.
    max_len : int, optional
        The padded length ``L``; defaults to the longest sequence.

    Returns
    -------
    torch.Tensor
        ``bool`` of shape ``(N, L)``, True at the padding positions (``j >= lengths[i]``): the
        ``key_padding_mask`` convention of ``nn.MultiheadAttention``.
    """
    lengths = torch.as_tensor(lengths)
    if lengths.ndim != 1 or lengths.numel() == 0 or lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
        raise ValueError(f"lengths must be a non-empty 1-D sequence of ints, got {lengths!r}")
    if int(lengths.min()) < 1:
        raise ValueError(f"every length must be at least 1, got {lengths.tolist()}")
    longest = int(lengths.max())
    if max_len is None:
        max_len = longest
    _positive_int("max_len", max_len)
    if max_len < longest:
        raise ValueError(f"max_len ({max_len}) is shorter than the longest sequence ({longest})")
    return torch.arange(max_len, device=lengths.device)[None, :] >= lengths[:, None]


def sinusoidal_encoding(max_len: int, d_model: int, base: float = 10000.0) -> torch.Tensor:
    r"""The sinusoidal position codes of Vaswani et al. (2017).

    .. math::
        PE_{t, 2i} = \sin(t\,\omega_i), \quad PE_{t, 2i+1} = \cos(t\,\omega_i), \quad
        \omega_i = \mathrm{base}^{-2i/d_\mathrm{model}}

    Parameters
    ----------
    max_len : int
        Number of positions ``t = 0, ..., max_len - 1``.
    d_model : int
        Width of each code; must be even (one sine and one cosine per frequency).
    base : float, default 10000.0
        Sets the slowest frequency (wavelength ``2 * pi * base``).

    Returns
    -------
    torch.Tensor
        ``float32`` of shape ``(max_len, d_model)``; every value lies in [-1, 1].
    """
    _positive_int("max_len", max_len)
    _positive_int("d_model", d_model)
    if d_model % 2:
        raise ValueError(f"d_model must be even (a sine and a cosine per frequency), got {d_model}")
    if isinstance(base, bool) or not isinstance(base, (int, float)) or not base > 1:
        raise ValueError(f"base must be a number > 1, got {base!r}")
    position = torch.arange(max_len, dtype=torch.float64)[:, None]
    omega = torch.exp(-math.log(base) * torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(position * omega)
    pe[:, 1::2] = torch.cos(position * omega)
    return pe.float()


class PositionalEncoding(nn.Module):
    """Add sinusoidal position codes to a batch of sequences, then apply dropout.

    Parameters
    ----------
    d_model : int
        Width of the inputs; must be even.
    max_len : int, default 512
        The longest sequence the module accepts.
    dropout : float, default 0.0
        Dropout on the sum (the original Transformer used 0.1).
    base : float, default 10000.0
        See :func:`sinusoidal_encoding`.

    Attributes
    ----------
    pe : torch.Tensor
        ``(max_len, d_model)``: a buffer, so it moves with ``.to(device)`` but is not a parameter
        and is not trained. It is not saved in the ``state_dict`` either (``persistent=False``):
        the formula recreates it.

    Notes
    -----
    ``forward(x)`` takes ``x`` of shape ``(N, L, d_model)`` with ``L <= max_len`` and returns
    ``dropout(x + pe[:L])``. Scaling token embeddings by ``sqrt(d_model)`` before this sum, as
    the original Transformer does, is left to the caller.
    """

    def __init__(self, d_model: int, max_len: int = 512, dropout: float = 0.0, base: float = 10000.0) -> None:
        super().__init__()
        self.d_model = d_model
        self.max_len = max_len
        self.register_buffer("pe", sinusoidal_encoding(max_len, d_model, base), persistent=False)
        self.dropout = nn.Dropout(_probability("dropout", dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_sequence("x", x, self.d_model)
        if x.shape[1] > self.max_len:
            raise ValueError(f"the sequences have {x.shape[1]} positions but max_len is {self.max_len}")
        return self.dropout(x + self.pe[: x.shape[1]])

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}"


class _Layer(nn.Module):
    """What the encoder and decoder layers share: the feed-forward block and the sub-layer wrapper."""

    def __init__(self, d_model: int, n_heads: int, dim_feedforward: int, dropout: float, norm_first: bool,
                 activation: str | Callable[[torch.Tensor], torch.Tensor], layer_norm_eps: float,
                 n_norms: int) -> None:
        super().__init__()
        for name, value in (("d_model", d_model), ("n_heads", n_heads), ("dim_feedforward", dim_feedforward)):
            _positive_int(name, value)
        if d_model % n_heads:
            raise ValueError(f"n_heads ({n_heads}) must divide d_model ({d_model}): each head gets "
                             "d_model / n_heads features")
        dropout = _probability("dropout", dropout)
        if not isinstance(norm_first, bool):
            raise TypeError(f"norm_first must be True or False, got {norm_first!r}")
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)} or a callable, got {activation!r}")
            activation = _ACTIVATIONS[activation]
        elif not callable(activation):
            raise TypeError(f"activation must be a string or a callable, got {type(activation).__name__}")
        self.d_model, self.n_heads, self.norm_first = d_model, n_heads, norm_first
        self.activation = activation
        self.self_attn = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        for i in range(1, n_norms + 1):
            setattr(self, f"norm{i}", nn.LayerNorm(d_model, eps=layer_norm_eps))
            setattr(self, f"dropout{i}", nn.Dropout(dropout))
        self.keep_weights = False
        self.attn_weights: dict[str, torch.Tensor] = {}

    def feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        """The position-wise feed-forward block: ``linear2(dropout(activation(linear1(x))))``."""
        return self.linear2(self.dropout(self.activation(self.linear1(x))))

    def sublayer(self, x: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor], norm: nn.LayerNorm,
                 dropout: nn.Dropout) -> torch.Tensor:
        """One residual sub-layer: ``x + dropout(fn(norm(x)))`` if ``norm_first``, else
        ``norm(x + dropout(fn(x)))``."""
        if self.norm_first:
            return x + dropout(fn(norm(x)))
        return norm(x + dropout(fn(x)))

    def _attend(self, name: str, attn: nn.MultiheadAttention, q, kv, mask, key_padding_mask) -> torch.Tensor:
        out, weights = attn(q, kv, kv, attn_mask=mask, key_padding_mask=key_padding_mask,
                            need_weights=self.keep_weights, average_attn_weights=False)
        if self.keep_weights:
            self.attn_weights[name] = weights.detach()
        return out


class EncoderLayer(_Layer):
    """One Transformer encoder layer: self-attention, then a feed-forward block, each a residual
    sub-layer with layer norm and dropout.

    Parameters
    ----------
    d_model : int
        Width of every token.
    n_heads : int
        Attention heads; must divide ``d_model`` (each head attends in ``d_model / n_heads``
        features of the projected queries, keys and values).
    dim_feedforward : int, default 2048
        Hidden width of the feed-forward block (the original Transformer used ``4 * d_model``).
    dropout : float, default 0.1
        On the attention weights, inside the feed-forward block and on each sub-layer's output.
    norm_first : bool, default False
        False: ``x = norm(x + sublayer(x))`` (*norm-last*, the original Transformer and PyTorch's
        default). True: ``x = x + sublayer(norm(x))`` (*norm-first*, easier to train deep; a stack
        of them usually ends with one more ``LayerNorm``).
    activation : {"relu", "gelu"} or callable, default "relu"
    layer_norm_eps : float, default 1e-5

    Attributes
    ----------
    keep_weights : bool
        Set it to True to keep the last forward pass's attention weights, per head, in
        ``attn_weights["self"]`` (shape ``(N, n_heads, L, L)``).

    Notes
    -----
    ``forward(x, mask=None, key_padding_mask=None)``: ``x`` is ``(N, L, d_model)``; ``mask``
    ``(L, L)`` and ``key_padding_mask`` ``(N, L)`` as in ``nn.MultiheadAttention`` (bool: True =
    may not attend). The same computation as ``nn.TransformerEncoderLayer(d_model, n_heads,
    dim_feedforward, dropout, batch_first=True, norm_first=norm_first)``.
    """

    def __init__(self, d_model: int, n_heads: int, dim_feedforward: int = 2048, dropout: float = 0.1, *,
                 norm_first: bool = False, activation: str | Callable[[torch.Tensor], torch.Tensor] = "relu",
                 layer_norm_eps: float = 1e-5) -> None:
        super().__init__(d_model, n_heads, dim_feedforward, dropout, norm_first, activation, layer_norm_eps, 2)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        _check_sequence("x", x, self.d_model)

        def attend(h):
            return self._attend("self", self.self_attn, h, h, mask, key_padding_mask)

        x = self.sublayer(x, attend, self.norm1, self.dropout1)
        return self.sublayer(x, self.feed_forward, self.norm2, self.dropout2)


class DecoderLayer(_Layer):
    """One Transformer decoder layer: masked self-attention, cross-attention to the encoder's
    output (the *memory*), then a feed-forward block; three residual sub-layers.

    Parameters
    ----------
    d_model, n_heads, dim_feedforward, dropout, norm_first, activation, layer_norm_eps
        As for :class:`EncoderLayer`.

    Attributes
    ----------
    keep_weights : bool
        If True, the last forward pass keeps ``attn_weights["self"]`` ``(N, n_heads, L, L)`` and
        ``attn_weights["cross"]`` ``(N, n_heads, L, L_memory)``.

    Notes
    -----
    ``forward(x, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None)``: ``x`` ``(N, L, d_model)`` is the (shifted) target,
    ``memory`` ``(N, S, d_model)`` the encoder's output. Pass ``tgt_mask=causal_mask(L)`` so that
    no position sees a later one. The same computation as ``nn.TransformerDecoderLayer(...,
    batch_first=True, norm_first=norm_first)``.
    """

    def __init__(self, d_model: int, n_heads: int, dim_feedforward: int = 2048, dropout: float = 0.1, *,
                 norm_first: bool = False, activation: str | Callable[[torch.Tensor], torch.Tensor] = "relu",
                 layer_norm_eps: float = 1e-5) -> None:
        super().__init__(d_model, n_heads, dim_feedforward, dropout, norm_first, activation, layer_norm_eps, 3)
        self.multihead_attn = nn.MultiheadAttention(d_model, n_heads, dropout=_probability("dropout", dropout),
                                                    batch_first=True)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, tgt_mask: torch.Tensor | None = None,
                memory_mask: torch.Tensor | None = None, tgt_key_padding_mask: torch.Tensor | None = None,
                memory_key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        _check_sequence("x", x, self.d_model)
        _check_sequence("memory", memory, self.d_model)
        if memory.shape[0] != x.shape[0]:
            raise ValueError(f"x and memory must hold the same number of sequences, got {x.shape[0]} and "
                             f"{memory.shape[0]}")

        def attend_self(h):
            return self._attend("self", self.self_attn, h, h, tgt_mask, tgt_key_padding_mask)

        def attend_memory(h):
            return self._attend("cross", self.multihead_attn, h, memory, memory_mask, memory_key_padding_mask)

        x = self.sublayer(x, attend_self, self.norm1, self.dropout1)
        x = self.sublayer(x, attend_memory, self.norm2, self.dropout2)
        return self.sublayer(x, self.feed_forward, self.norm3, self.dropout3)


class _Stack(nn.Module):
    def __init__(self, layer: nn.Module, n_layers: int, norm: nn.Module | None, kind: type) -> None:
        super().__init__()
        if not isinstance(layer, kind):
            raise TypeError(f"layer must be a {kind.__name__}, got {type(layer).__name__}")
        _positive_int("n_layers", n_layers)
        if norm is not None and not isinstance(norm, nn.Module):
            raise TypeError(f"norm must be an nn.Module (e.g. nn.LayerNorm(d_model)) or None, got {type(norm).__name__}")
        self.layers = nn.ModuleList(copy.deepcopy(layer) for _ in range(n_layers))
        self.norm = norm

    @property
    def keep_weights(self) -> bool:
        """Whether every layer keeps its attention weights (see the layers' ``keep_weights``)."""
        return all(layer.keep_weights for layer in self.layers)

    @keep_weights.setter
    def keep_weights(self, value: bool) -> None:
        for layer in self.layers:
            layer.keep_weights = bool(value)


class TransformerEncoder(_Stack):
    """A stack of ``n_layers`` copies of an :class:`EncoderLayer`, then an optional final norm.

    Parameters
    ----------
    layer : EncoderLayer
        Deep-copied ``n_layers`` times, so every layer starts with the same weights (as in
        ``nn.TransformerEncoder``); re-initialise them if they should differ.
    n_layers : int
    norm : nn.Module, optional
        Applied to the last layer's output; ``nn.LayerNorm(d_model)`` after norm-first layers.

    Notes
    -----
    ``forward(x, mask=None, key_padding_mask=None)`` passes both masks to every layer. The same
    computation as ``nn.TransformerEncoder(nn.TransformerEncoderLayer(..., batch_first=True),
    n_layers, norm)`` at every position that is not padding. At padding positions PyTorch's
    inference fast path (norm-last layers, eval mode, no gradients, a key padding mask) puts
    zeros before the final norm, so with a final ``LayerNorm`` those outputs equal its bias; we
    leave whatever the layers computed there.
    """

    def __init__(self, layer: EncoderLayer, n_layers: int, norm: nn.Module | None = None) -> None:
        super().__init__(layer, n_layers, norm, EncoderLayer)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, mask=mask, key_padding_mask=key_padding_mask)
        return x if self.norm is None else self.norm(x)


class TransformerDecoder(_Stack):
    """A stack of ``n_layers`` copies of a :class:`DecoderLayer`, then an optional final norm.

    Every layer attends to the same ``memory`` (the encoder's final output).

    Parameters
    ----------
    layer : DecoderLayer
    n_layers : int
    norm : nn.Module, optional

    Notes
    -----
    ``forward(x, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None)``; the same computation as ``nn.TransformerDecoder``.
    """

    def __init__(self, layer: DecoderLayer, n_layers: int, norm: nn.Module | None = None) -> None:
        super().__init__(layer, n_layers, norm, DecoderLayer)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, tgt_mask: torch.Tensor | None = None,
                memory_mask: torch.Tensor | None = None, tgt_key_padding_mask: torch.Tensor | None = None,
                memory_key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask)
        return x if self.norm is None else self.norm(x)
