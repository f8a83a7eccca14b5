"""A small, readable GPT: a decoder-only Transformer language model, and its batch helpers.

The chapter *A GPT from scratch* builds every piece by hand once (the masked self-attention head,
multi-head attention, the feed-forward block, residual connections, pre-LayerNorm) and then
trains this module, which holds the same pieces in one place::

    from dlbook.models.gpt import GPT, GPTConfig, estimate_loss, random_blocks

    config = GPTConfig(vocab_size=65, block_size=64, n_embd=128, n_head=4, n_layer=4)
    model = GPT(config)
    g = torch.Generator().manual_seed(0)
    x, y = random_blocks(train_ids, 64, 32, generator=g)   # (32, 64) each, y = x shifted by one
    logits, loss = model(x, y)                             # (32, 64, 65), scalar
    estimate_loss(model, {"train": train_ids, "val": val_ids}, batch_size=32, eval_iters=20,
                  generator=g)                             # {'train': 2.1, 'val': 2.2}
    model.generate(x[:1, :1], 100, generator=g)            # (1, 101) token ids

Design choices (those of GPT-2 and nanoGPT unless stated): learned position embeddings, pre-LN
blocks (LayerNorm before attention and before the MLP, added back through residual connections),
a final LayerNorm, a 4x-wide GELU MLP, weights drawn from N(0, 0.02^2) with the residual output
projections scaled down by ``1/sqrt(2 * n_layer)``, biases zero. The output layer is *not* tied to
the token embedding unless ``tie_weights=True``. Attention calls
``torch.nn.functional.scaled_dot_product_attention(..., is_causal=True)``, which computes
``softmax(q k^T / sqrt(head_size) + causal mask) v`` (with a fused "flash" kernel where the device
has one); the chapter checks its hand-written head against it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import positive_int as _positive_int

__all__ = ["GPTConfig", "CausalSelfAttention", "MLP", "Block", "GPT", "random_blocks", "estimate_loss"]


@dataclass
class GPTConfig:
    """The sizes of a :class:`GPT`.

    Parameters
    ----------
    vocab_size : int
        Number of distinct tokens (65 for Tiny Shakespeare's characters).
    block_size : int
        The longest context the model sees (number of position embeddings).
    n_embd : int
        Width of the residual stream (embedding size); divisible by ``n_head``.
    n_head : int
        Attention heads per layer; each has ``n_embd // n_head`` dimensions.
    n_layer : int
        Number of Transformer blocks.
    dropout : float, default 0.0
        Dropout rate in ``[0, 1)`` on attention weights and on each residual branch's output.
    bias : bool, default True
        Whether the linear layers and LayerNorms have bias terms.
    tie_weights : bool, default False
        Share one matrix between the token embedding and the output layer (as GPT-2 does).

    Raises
    ------
    TypeError, ValueError
        With the argument's name, for a non-int size, a size below 1, ``n_embd`` not divisible by
        ``n_head``, or a dropout rate outside ``[0, 1)``.
    """

    vocab_size: int
    block_size: int
    n_embd: int
    n_head: int
    n_layer: int
    dropout: float = 0.0
    bias: bool = True
    tie_weights: bool = False

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_embd", "n_head", "n_layer"):
            _positive_int(name, getattr(self, name))
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        d = self.dropout
        if isinstance(d, bool) or not isinstance(d, (int, float)):
            raise TypeError(f"dropout must be a number in [0, 1), got {type(d).__name__}")
        if not 0.0 <= d < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {d!r}")
        self.dropout = float(d)
        for name in ("bias", "tie_weights"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")

    @property
    def head_size(self) -> int:
        """Dimensions per attention head, ``n_embd // n_head``."""
        return self.n_embd // self.n_head


class CausalSelfAttention(nn.Module):
    """Multi-head masked self-attention: every position attends to itself and earlier positions.

    One linear layer ``c_attn`` makes the queries, keys and values of all heads at once
    (``n_embd -> 3 * n_embd``, in that order, each split into ``n_head`` heads of ``head_size``);
    ``c_proj`` mixes the heads' concatenated outputs. Input and output are ``(B, T, n_embd)``.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        # (B, T, C) -> (B, n_head, T, head_size)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0,
                                           is_causal=True)
        y = y.transpose(1, 2).contiguous().view(B, T, C)          # heads side by side again
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """The position-wise feed-forward block: ``n_embd -> 4 n_embd -> GELU -> n_embd``, dropout."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """One pre-LN Transformer block: ``x + attn(ln_1(x))``, then ``x + mlp(ln_2(x))``."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """A decoder-only Transformer language model (GPT-2's layout, any size).

    Parameters
    ----------
    config : GPTConfig
        The sizes.

    Notes
    -----
    ``forward(idx, targets=None)`` takes token ids ``(B, T)`` with ``T <= block_size`` and returns
    ``(logits, loss)``: logits ``(B, T, vocab_size)`` predict the token after each position; loss
    is the mean cross-entropy against ``targets`` ``(B, T)``, or ``None`` without targets.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}")
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)     # token embeddings
        self.wpe = nn.Embedding(config.block_size, config.n_embd)     # learned position embeddings
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_weights:
            self.lm_head.weight = self.wte.weight
        self.apply(self._init_weights)
        scaled_std = 0.02 / math.sqrt(2 * config.n_layer)             # GPT-2's residual scaling
        for block in self.blocks:
            nn.init.normal_(block.attn.c_proj.weight, mean=0.0, std=scaled_std)
            nn.init.normal_(block.mlp.c_proj.weight, mean=0.0, std=scaled_std)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_parameters(self) -> int:
        """Number of trainable parameters (a tied matrix counted once)."""
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx: torch.Tensor,
                targets: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        if not isinstance(idx, torch.Tensor) or idx.ndim != 2 or idx.dtype != torch.long:
            raise ValueError("idx must be an int64 tensor of token ids of shape (B, T)")
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(f"idx has {T} positions but block_size is {self.config.block_size}; "
                             "crop the context (generate() does)")
        pos = torch.arange(T, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        if targets is None:
            return logits, None
        if not isinstance(targets, torch.Tensor) or targets.shape != idx.shape:
            got = tuple(targets.shape) if isinstance(targets, torch.Tensor) else type(targets).__name__
            raise ValueError(f"targets must be a tensor of the shape of idx {tuple(idx.shape)}, got {got}")
        loss = F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(B * T))
        return logits, loss

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, *, temperature: float = 1.0,
                 top_k: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Extend each row of ``idx`` by ``max_new_tokens`` sampled tokens.

        Parameters
        ----------
        idx : torch.Tensor
            int64 ``(B, T)``: the prompts (any length ``T >= 1``; only the last ``block_size``
            tokens are fed to the model at each step).
        max_new_tokens : int
            How many tokens to add.
        temperature : float, default 1.0
            Divides the logits before the softmax: below 1 sharpens, above 1 flattens.
        top_k : int, optional
            Sample only among the ``top_k`` most likely tokens.
        generator : torch.Generator, optional
            Source of randomness; the same seed gives the same tokens. Sampling happens on the
            generator's device.

        Returns
        -------
        torch.Tensor
            int64 ``(B, T + max_new_tokens)`` on ``idx``'s device. Dropout is off while sampling;
            the model's train/eval mode is restored afterwards.
        """
        _positive_int("max_new_tokens", max_new_tokens)
        if (isinstance(temperature, bool) or not isinstance(temperature, (int, float))
                or not math.isfinite(temperature) or temperature <= 0):
            raise ValueError(f"temperature must be a positive, finite number, got {temperature!r}")
        if top_k is not None:
            _positive_int("top_k", top_k)
        if not isinstance(idx, torch.Tensor) or idx.ndim != 2 or idx.dtype != torch.long:
            raise ValueError("idx must be an int64 tensor of token ids of shape (B, T)")
        if idx.shape[1] < 1:
            raise ValueError("idx must hold at least one token per row (a prompt of length T >= 1)")
        was_training = self.training
        self.eval()
        try:
            for _ in range(max_new_tokens):
                context = idx[:, -self.config.block_size:]
                logits, _ = self(context)
                logits = logits[:, -1, :] / temperature
                if top_k is not None:
                    kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, [-1]]
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                probs = F.softmax(logits.float(), dim=-1)
                if generator is not None:
                    probs = probs.to(generator.device)
                nxt = torch.multinomial(probs, 1, generator=generator).to(idx.device)
                idx = torch.cat((idx, nxt), dim=1)
        finally:
            self.train(was_training)
        return idx


def random_blocks(data: torch.Tensor, block_size: int, batch_size: int, *,
                  generator: torch.Generator | None = None,
                  device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of random windows of a token stream and the same windows shifted by one.

    Parameters
    ----------
    data : torch.Tensor
        1-D int64 token ids (a whole corpus, or one split of it).
    block_size : int
        Window length ``T``; ``len(data)`` must exceed it.
    batch_size : int
        Number of windows ``B``.
    generator : torch.Generator, optional
        CPU generator for the start positions (reproducible batches).
    device : torch.device or str, optional
        Where to put the result (default: ``data``'s device).

    Returns
    -------
    (x, y) : tuple of torch.Tensor
        int64 ``(B, T)`` each, with ``y[b, t] = data[s_b + t + 1]`` the token after ``x[b, t]``.
    """
    if not isinstance(data, torch.Tensor) or data.ndim != 1 or data.is_floating_point() or data.is_complex():
        raise ValueError("data must be a 1-D integer tensor of token ids")
    _positive_int("block_size", block_size)
    _positive_int("batch_size", batch_size)
    if data.numel() <= block_size:
        raise ValueError(f"data has {data.numel()} tokens; it needs more than block_size={block_size}")
    starts = torch.randint(data.numel() - block_size, (batch_size,), generator=generator)
    offsets = starts[:, None] + torch.arange(block_size)
    data_cpu = data.cpu()
    x, y = data_cpu[offsets], data_cpu[offsets + 1]
    target = data.device if device is None else torch.device(device)
    return x.to(target), y.to(target)


@torch.no_grad()
def estimate_loss(model: nn.Module, splits: Mapping[str, torch.Tensor], *, batch_size: int,
                  eval_iters: int, block_size: int | None = None,
                  generator: torch.Generator | None = None,
                  device: torch.device | str | None = None) -> dict[str, float]:
    """The mean loss of ``model`` over ``eval_iters`` random batches of each split.

    Parameters
    ----------
    model : nn.Module
        A model whose ``forward(x, y)`` returns ``(logits, loss)``, such as :class:`GPT`.
    splits : mapping of str to torch.Tensor
        Token streams by name, e.g. ``{"train": train_ids, "val": val_ids}``.
    batch_size, eval_iters : int
        Windows per batch and batches per split.
    block_size : int, optional
        Window length (default: ``model.config.block_size``).
    generator : torch.Generator, optional
        For the windows' start positions; a fresh seeded generator gives the same estimate.
    device : torch.device or str, optional
        Where to run (default: the model's device).

    Returns
    -------
    dict of str to float
        The estimated loss of each split. Dropout is off while estimating; the model's mode is
        restored afterwards.
    """
    if not isinstance(splits, Mapping) or not splits:
        raise ValueError("splits must be a non-empty mapping such as {'train': ids, 'val': ids}")
    _positive_int("batch_size", batch_size)
    _positive_int("eval_iters", eval_iters)
    if block_size is None:
        config = getattr(model, "config", None)
        if config is None or not hasattr(config, "block_size"):
            raise ValueError("block_size is needed for a model without a config.block_size")
        block_size = config.block_size
    if device is None:
        device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        out = {}
        for name, data in splits.items():
            total = 0.0
            for _ in range(eval_iters):
                x, y = random_blocks(data, block_size, batch_size, generator=generator, device=device)
                total += model(x, y)[1].item()
            out[name] = total / eval_iters
    finally:
        model.train(was_training)
    return out
