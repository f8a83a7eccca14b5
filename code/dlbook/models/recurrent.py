"""Recurrent sequence classifiers: a recurrent layer (RNN, GRU or LSTM) read out by a linear head.

The chapter *Sequences and recurrent networks* builds the recurrent cell by hand and then trains
this model on the noisy squares; *Gated cells: GRU and LSTM* swaps the cell; later chapters
(variable-length sequences, time series) reuse it::

    from dlbook.models.recurrent import SequenceClassifier

    model = SequenceClassifier(n_features=2, hidden_size=2, n_outputs=1, cell="gru")
    model(torch.randn(16, 4, 2)).shape           # (16, 1): one logit per sequence
    model.features(torch.randn(16, 4, 2)).shape  # (16, 2): the representation the head reads

Inputs are batch-first, ``(N, L, n_features)``, or a
:class:`~torch.nn.utils.rnn.PackedSequence` (then every sequence is read up to its own last
element, never into the padding).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from ._checks import positive_int as _positive_int, probability as _probability

__all__ = ["SequenceClassifier", "RECURRENT_CELLS"]

#: The recurrent layers :class:`SequenceClassifier` can use, by the name its ``cell`` argument takes.
RECURRENT_CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
_READOUTS = ("hidden", "output")


class SequenceClassifier(nn.Module):
    """A recurrent layer that reads a whole sequence, then a linear layer on its final state.

    Parameters
    ----------
    n_features : int
        Features per time step (2 for the points of the noisy squares).
    hidden_size : int
        Size ``H`` of the hidden state.
    n_outputs : int
        Number of outputs of the linear head: 1 for a binary classifier trained with
        ``nn.BCEWithLogitsLoss``, the number of classes for ``nn.CrossEntropyLoss`` (logits, no
        sigmoid or softmax), or the number of values a regression predicts.
    cell : {"rnn", "gru", "lstm"}, default "rnn"
        The recurrent layer: ``nn.RNN`` (tanh), ``nn.GRU`` or ``nn.LSTM``, always ``batch_first``.
    num_layers : int, default 1
        Stacked recurrent layers.
    bidirectional : bool, default False
        Add a second direction that reads every sequence backwards.
    readout : {"hidden", "output"}, default "hidden"
        What the head reads. ``"hidden"``: the final hidden state of the top layer, the forward
        and (if bidirectional) reverse directions concatenated, so each direction contributes the
        state it reached after reading the whole sequence. ``"output"``: the last element of the
        output sequence, as many tutorials do; for a unidirectional layer this is the same
        vector, but the reverse direction's part of it has read only the last element.
    dropout : float, default 0.0
        Dropout between stacked layers (``nn.RNN``'s own ``dropout``); needs ``num_layers >= 2``.

    Attributes
    ----------
    rnn : nn.RNN, nn.GRU or nn.LSTM
        The recurrent layer (``batch_first=True``).
    head : nn.Linear
        Maps the readout, of size ``H`` or ``2 H`` (bidirectional), to ``n_outputs``.
    """

    def __init__(self, n_features: int, hidden_size: int, n_outputs: int, cell: str = "rnn",
                 num_layers: int = 1, bidirectional: bool = False, readout: str = "hidden",
                 dropout: float = 0.0) -> None:
        super().__init__()
        _positive_int("n_features", n_features)
        _positive_int("hidden_size", hidden_size)
        _positive_int("n_outputs", n_outputs)
        _positive_int("num_layers", num_layers)
        if not isinstance(cell, str) or cell.lower() not in RECURRENT_CELLS:
            raise ValueError(f"cell must be one of {', '.join(map(repr, RECURRENT_CELLS))}, got {cell!r}")
        if not isinstance(bidirectional, bool):
            raise TypeError(f"bidirectional must be a bool, got {type(bidirectional).__name__}")
        if readout not in _READOUTS:
            raise ValueError(f"readout must be 'hidden' or 'output', got {readout!r}")
        _probability("dropout", dropout)
        if dropout and num_layers == 1:
            raise ValueError("dropout acts between stacked layers only: with num_layers=1 it would do nothing; "
                             "use num_layers >= 2 or dropout=0")
        self.cell = cell.lower()
        self.n_features, self.hidden_size, self.n_outputs = n_features, hidden_size, n_outputs
        self.num_layers, self.bidirectional, self.readout = num_layers, bidirectional, readout
        self.rnn = RECURRENT_CELLS[self.cell](n_features, hidden_size, num_layers=num_layers,
                                              bidirectional=bidirectional, dropout=float(dropout),
                                              batch_first=True)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), n_outputs)

    @property
    def n_directions(self) -> int:
        """2 for a bidirectional layer, else 1."""
        return 2 if self.bidirectional else 1

    def _check_input(self, x) -> None:
        if isinstance(x, PackedSequence):
            data = x.data
        elif isinstance(x, torch.Tensor):
            if x.ndim != 3:
                raise ValueError(f"x must be a batch-first tensor (N, L, n_features) or a PackedSequence, got a "
                                 f"tensor of shape {tuple(x.shape)}; for one sequence use x.unsqueeze(0)")
            if x.shape[1] == 0:
                raise ValueError("x holds sequences of length 0")
            data = x
        else:
            raise TypeError(f"x must be a torch.Tensor or a PackedSequence, got {type(x).__name__}")
        if not data.is_floating_point():
            raise TypeError(f"x must hold floating-point values, got {data.dtype}")
        if data.shape[-1] != self.n_features:
            raise ValueError(f"x has {data.shape[-1]} features per step, but the model was built with "
                             f"n_features={self.n_features}")

    def features(self, x: torch.Tensor | PackedSequence) -> torch.Tensor:
        """The vector the head reads: ``(N, H)``, or ``(N, 2 H)`` for a bidirectional layer.

        Parameters
        ----------
        x : torch.Tensor or PackedSequence
            A batch-first float tensor ``(N, L, n_features)``, or a packed batch (its sequences in
            their original order, whatever ``enforce_sorted`` was).
        """
        self._check_input(x)
        output, state = self.rnn(x)
        h_n = state[0] if self.cell == "lstm" else state      # (layers * directions, N, H)
        if self.readout == "hidden":
            top = h_n[-self.n_directions:]                     # the top layer: forward, then reverse
            return torch.cat(list(top), dim=1)
        if isinstance(output, PackedSequence):
            padded, lengths = pad_packed_sequence(output, batch_first=True)
            last = (lengths - 1).to(padded.device)
            return padded[torch.arange(padded.shape[0], device=padded.device), last]
        return output[:, -1]

    def forward(self, x: torch.Tensor | PackedSequence) -> torch.Tensor:
        """Logits (or regression outputs) of shape ``(N, n_outputs)``."""
        return self.head(self.features(x))

    def extra_repr(self) -> str:
        return f"readout={self.readout!r}"
