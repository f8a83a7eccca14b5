"""Sequence-to-sequence models: a recurrent encoder, a decoder, and the loop that joins them.

The chapter *Sequence-to-sequence models* builds these classes inline and trains them on the noisy
squares (first two corners in, last two out); the chapter *Attention* adds
:class:`AttentionDecoder`, which looks back at every encoder state instead of only the last::

    from dlbook.models.seq2seq import Encoder, Decoder, EncoderDecoder

    model = EncoderDecoder(Encoder(2, 8), Decoder(2, 8), input_len=2, target_len=2,
                           teacher_forcing_prob=0.5)
    model.train()
    model(full_sequences).shape   # (N, 2, 2): needs source *and* target, shape (N, 4, 2)
    model.eval()
    model(sources).shape          # (N, 2, 2): the source (N, 2, 2) is enough

The decoder starts from the encoder's last hidden state (the *context vector*) and, as its first
input, the last source element; each later input is either its own previous prediction or, with
probability ``teacher_forcing_prob`` and only in training mode, the true previous target
(*teacher forcing*).
"""

from __future__ import annotations

import torch
from torch import nn

from .attention import attention
from ._checks import positive_int as _positive_int

__all__ = ["Encoder", "Decoder", "AttentionDecoder", "EncoderDecoder"]


class Encoder(nn.Module):
    """A one-layer GRU that reads the source sequence.

    Parameters
    ----------
    n_features : int
        Features per element of the source (2 for points in the plane).
    hidden_dim : int
        Size of the hidden state.

    Notes
    -----
    ``forward(source)`` takes a batch-first ``(N, L, n_features)`` tensor and returns
    ``(outputs, hidden)``: every step's hidden state ``(N, L, hidden_dim)`` and the last one in
    ``nn.GRU``'s layout ``(1, N, hidden_dim)``.
    """

    def __init__(self, n_features: int, hidden_dim: int) -> None:
        super().__init__()
        self.n_features = _positive_int("n_features", n_features)
        self.hidden_dim = _positive_int("hidden_dim", hidden_dim)
        self.rnn = nn.GRU(n_features, hidden_dim, batch_first=True)

    def forward(self, source: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if source.ndim != 3 or source.shape[-1] != self.n_features:
            raise ValueError(f"source must have shape (N, L, {self.n_features}), got {tuple(source.shape)}")
        return self.rnn(source)


class Decoder(nn.Module):
    """A GRU that generates one element per call, plus a linear layer that reads it out.

    Parameters
    ----------
    n_features : int
        Features per element of the target.
    hidden_dim : int
        Size of the hidden state; it must equal the encoder's, whose last state starts the decoder.

    Notes
    -----
    ``forward(x, hidden, encoder_outputs=None, source_mask=None)`` takes one input element
    ``(N, 1, n_features)`` and the hidden state ``(1, N, hidden_dim)``, and returns
    ``(prediction, hidden, None)``: the next element ``(N, 1, n_features)``, the new hidden state,
    and no attention weights (the signature matches :class:`AttentionDecoder`, which uses the
    encoder outputs; this decoder ignores them).
    """

    def __init__(self, n_features: int, hidden_dim: int) -> None:
        super().__init__()
        self.n_features = _positive_int("n_features", n_features)
        self.hidden_dim = _positive_int("hidden_dim", hidden_dim)
        self.rnn = nn.GRU(n_features, hidden_dim, batch_first=True)
        self.regression = nn.Linear(hidden_dim, n_features)

    def forward(self, x: torch.Tensor, hidden: torch.Tensor, encoder_outputs: torch.Tensor | None = None,
                source_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, None]:
        out, hidden = self.rnn(x, hidden)
        return self.regression(out), hidden, None


class AttentionDecoder(Decoder):
    """A :class:`Decoder` that attends over all the encoder's states at every step.

    The GRU's new state is the *query*; the encoder's states, through two linear maps, are the
    *keys* and (unchanged) the *values*. Scaled dot-product :func:`~dlbook.models.attention.attention`
    turns them into a context vector, and the read-out layer sees the context beside the query:
    ``Linear(2 * hidden_dim, n_features)``.

    ``forward(x, hidden, encoder_outputs, source_mask=None)`` returns
    ``(prediction, hidden, weights)`` with the attention weights ``(N, 1, L_source)``.
    ``source_mask`` (bool, ``(N, L_source)``, True for real elements) keeps padded source
    positions out of the attention.
    """

    def __init__(self, n_features: int, hidden_dim: int) -> None:
        super().__init__(n_features, hidden_dim)
        self.query = nn.Linear(hidden_dim, hidden_dim)
        self.key = nn.Linear(hidden_dim, hidden_dim)
        self.regression = nn.Linear(2 * hidden_dim, n_features)

    def forward(self, x: torch.Tensor, hidden: torch.Tensor, encoder_outputs: torch.Tensor | None = None,
                source_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if encoder_outputs is None:
            raise ValueError("AttentionDecoder needs encoder_outputs, the encoder's states (N, L, hidden_dim)")
        out, hidden = self.rnn(x, hidden)                       # out: (N, 1, H), the query
        mask = None if source_mask is None else source_mask.unsqueeze(1)   # (N, 1, L)
        context, weights = attention(self.query(out), self.key(encoder_outputs), encoder_outputs, mask)
        return self.regression(torch.cat([context, out], dim=-1)), hidden, weights


class EncoderDecoder(nn.Module):
    """Encode a source sequence, then decode a target sequence one element at a time.

    Parameters
    ----------
    encoder : Encoder
    decoder : Decoder or AttentionDecoder
    input_len, target_len : int
        Lengths of source and target.
    teacher_forcing_prob : float, default 0.5
        In training mode, the probability that a decoding step receives the true previous target
        instead of the model's own previous prediction (drawn once per step for the whole batch,
        from PyTorch's global random generator). 1.0 is full teacher forcing, 0.0 none. In
        evaluation mode the model always feeds back its own predictions. (In training mode one
        number is drawn per step, whatever the probability, so that runs with different
        probabilities consume the same random numbers.)

    Notes
    -----
    ``forward(x, source_mask=None)``: ``x`` is ``(N, input_len + target_len, F)``, source followed
    by target, in training mode (when ``teacher_forcing_prob > 0``); otherwise its first
    ``input_len`` elements are used and ``(N, input_len, F)`` is enough. Returns the predicted
    target ``(N, target_len, F)``. After each call, ``alphas`` holds the attention weights
    ``(N, target_len, input_len)`` (detached) if the decoder computes them, else ``None``.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, input_len: int, target_len: int,
                 teacher_forcing_prob: float = 0.5) -> None:
        super().__init__()
        if not isinstance(encoder, nn.Module) or not isinstance(decoder, nn.Module):
            raise TypeError("encoder and decoder must be nn.Module instances (e.g. Encoder and Decoder)")
        self.encoder, self.decoder = encoder, decoder
        self.input_len = _positive_int("input_len", input_len)
        self.target_len = _positive_int("target_len", target_len)
        self.teacher_forcing_prob = teacher_forcing_prob
        self.alphas: torch.Tensor | None = None

    @property
    def teacher_forcing_prob(self) -> float:
        return self._teacher_forcing_prob

    @teacher_forcing_prob.setter
    def teacher_forcing_prob(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ValueError(f"teacher_forcing_prob must be a number in [0, 1], got {value!r}")
        self._teacher_forcing_prob = float(value)

    def forward(self, x: torch.Tensor, source_mask: torch.Tensor | None = None) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a tensor of shape (N, L, F), got {type(x).__name__}")
        if x.ndim != 3:
            raise ValueError(f"x must be a tensor of shape (N, L, F), got shape {tuple(x.shape)}")
        forcing = self.training and self.teacher_forcing_prob > 0
        need = self.input_len + (self.target_len if forcing else 0)
        if x.shape[1] < need:
            what = "source and target (teacher forcing is on in training mode)" if forcing else "the source"
            raise ValueError(f"x has {x.shape[1]} elements per sequence but the model needs {need}: {what}")
        source = x[:, :self.input_len]
        target = x[:, self.input_len:self.input_len + self.target_len]
        encoder_outputs, hidden = self.encoder(source)
        step_input = source[:, -1:]            # the decoder starts from the last source element
        predictions, weights = [], []
        for i in range(self.target_len):
            out, hidden, alpha = self.decoder(step_input, hidden, encoder_outputs, source_mask)
            predictions.append(out)
            if alpha is not None:
                weights.append(alpha.detach())
            if self.training and torch.rand(()) < self.teacher_forcing_prob:
                step_input = target[:, i:i + 1]   # teacher forcing: the true element
            else:
                step_input = out                  # the model's own prediction
        self.alphas = torch.cat(weights, dim=1) if weights else None
        return torch.cat(predictions, dim=1)
