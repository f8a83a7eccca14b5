"""A multilayer perceptron with configurable widths and activation."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

__all__ = ["MLP"]


class MLP(nn.Sequential):
    """Fully connected network: ``Flatten -> [Linear -> activation -> Dropout?] * k -> Linear``.

    Parameters
    ----------
    in_features : int
        Size of one flattened input (784 for a 28x28 image).
    hidden : sequence of int
        Widths of the hidden layers, e.g. ``(256, 128)``; empty for a linear model.
    out_features : int
        Number of outputs (classes for a classifier; logits, no softmax).
    activation : type of nn.Module, default nn.ReLU
    dropout : float, default 0.0
        Dropout probability after every hidden activation.

    Being an ``nn.Sequential``, it prints layer by layer and indexes like a list.
    """

    def __init__(self, in_features: int, hidden: Sequence[int], out_features: int,
                 activation: type[nn.Module] = nn.ReLU, dropout: float = 0.0) -> None:
        sizes = [in_features, *hidden, out_features]
        if any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
            raise ValueError(f"layer sizes must be positive ints, got in={in_features}, hidden={list(hidden)}, "
                             f"out={out_features}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(sizes[:-2], sizes[1:-1]):
            layers += [nn.Linear(a, b), activation()]
            if dropout:
                layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(sizes[-2], sizes[-1]))
        super().__init__(*layers)
