"""Argument checks shared by the model classes: one clear error, naming the argument, for bad input."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["check_int", "positive_int", "int_sequence", "probability"]


def check_int(name: str, value, minimum: int = 1) -> int:
    """``value`` if it is an int (not a bool) of at least ``minimum``; TypeError or ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        if minimum == 1:
            raise ValueError(f"{name} must be a positive int (at least 1), got {value}")
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def positive_int(name: str, value) -> int:
    """``value`` if it is an int of at least 1."""
    return check_int(name, value, 1)


def int_sequence(name: str, values, example: str = "(16, 32)") -> tuple[int, ...]:
    """A non-empty sequence of positive ints (layer widths, channel counts) as a tuple."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise TypeError(f"{name} must be a non-empty sequence of ints such as {example}, got {values!r}")
    return tuple(positive_int(f"{name}[{i}]", v) for i, v in enumerate(values))


def probability(name: str, value) -> float:
    """``value`` as a float if it is a probability in [0, 1) (a dropout rate, say)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)
