"""Architectures that chapters build once and then reuse."""

from .mlp import MLP

__all__ = ["MLP"]
