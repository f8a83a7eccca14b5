"""Architectures that chapters build once and then reuse."""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {"MLP": ".mlp"}, globals())

__all__ = ["MLP"]
