"""Forward hooks that record what the layers of a model compute.

The chapter *CNN classifiers, hooks and feature maps* registers hooks by hand first, then uses
:class:`FeatureRecorder`::

    with FeatureRecorder(model, ["conv1", "relu1"]) as recorder:
        model(images)
    recorder["conv1"]           # (N, C, H, W), detached, on the CPU

Every hook is removed when the ``with`` block ends, also when it ends with an exception, so a
recorder never leaves a model slower or holding on to memory.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from .trainer import _map_tensors

__all__ = ["FeatureRecorder"]


def _detached(output, to_cpu: bool):
    """A detached copy of a module's output: every tensor in it (nested in tuples, lists or dicts)."""
    return _map_tensors(output, (lambda t: t.detach().cpu()) if to_cpu else torch.Tensor.detach)


class FeatureRecorder:
    """Record the outputs of named submodules of a model during forward passes.

    Parameters
    ----------
    model : torch.nn.Module
        The model whose layers to watch.
    names : iterable of str, optional
        Module names as :meth:`torch.nn.Module.named_modules` gives them (``"conv1"``,
        ``"features.0"``). Default: every leaf module (a module without children).
    to_cpu : bool, default True
        Move every recorded output to the CPU (outputs are always detached from the graph).

    Notes
    -----
    Use it as a context manager: the hooks are registered on entry and removed on exit, whatever
    happens inside the block. :meth:`attach` and :meth:`remove` do the same by hand. Each forward
    pass appends one output per watched module; ``recorder[name]`` concatenates them along the
    batch dimension, so several batches (or :meth:`dlbook.train.Trainer.predict` over a loader)
    give one tensor. A module called several times in one forward pass records each call.

    Examples
    --------
    >>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    >>> with FeatureRecorder(model, ["0"]) as rec:
    ...     _ = model(torch.ones(2, 4))
    >>> rec["0"].shape
    torch.Size([2, 3])
    """

    def __init__(self, model: nn.Module, names: Iterable[str] | None = None, *, to_cpu: bool = True) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        modules = dict(model.named_modules())
        if names is None:
            names = [n for n, m in modules.items() if n and not any(True for _ in m.children())]
        elif isinstance(names, str):
            names = [names]
        else:
            names = list(names)
        for name in names:
            if not isinstance(name, str):
                raise TypeError(f"names must be module names (str), got {type(name).__name__}")
        unknown = [n for n in names if n not in modules]
        if unknown:
            known = [n for n in modules if n]
            raise ValueError(f"names: the model has no module(s) {unknown}; its modules are {known}")
        if len(set(names)) != len(names):
            raise ValueError(f"names lists a module more than once: {names}")
        if not names:
            raise ValueError("names is empty: name at least one module to record")
        self.model = model
        self.names: list[str] = names
        self.to_cpu = to_cpu
        self.outputs: dict[str, list] = {n: [] for n in names}
        self._handles: list = []
        self._modules = modules

    # ------------------------------------------------------------------------------------------
    @property
    def attached(self) -> bool:
        """Whether the hooks are registered right now."""
        return bool(self._handles)

    def _hook(self, name: str):
        def hook(module, inputs, output):
            self.outputs[name].append(_detached(output, self.to_cpu))
        return hook

    def attach(self) -> "FeatureRecorder":
        """Register one forward hook per watched module; return the recorder."""
        if self._handles:
            raise RuntimeError("the recorder is already attached; remove() it before attaching again")
        try:
            for name in self.names:
                self._handles.append(self._modules[name].register_forward_hook(self._hook(name)))
        except BaseException:
            self.remove()
            raise
        return self

    def remove(self) -> None:
        """Remove every hook this recorder registered (the recorded outputs are kept)."""
        while self._handles:
            self._handles.pop().remove()

    def clear(self) -> None:
        """Forget the recorded outputs (the hooks stay as they are)."""
        for name in self.names:
            self.outputs[name] = []

    def __enter__(self) -> "FeatureRecorder":
        return self.attach()

    def __exit__(self, exc_type, exc, tb) -> None:
        self.remove()

    # ------------------------------------------------------------------------------------------
    def __getitem__(self, name: str):
        """The outputs of module ``name`` over every recorded forward pass, joined along dim 0.

        Tensor outputs give one tensor; tuple or list outputs give the list of what each call
        returned.
        """
        if name not in self.outputs:
            raise KeyError(f"{name!r} is not recorded; recorded modules: {self.names}")
        recorded = self.outputs[name]
        if not recorded:
            raise ValueError(f"nothing recorded for {name!r} yet: run a forward pass inside the `with` block")
        if all(isinstance(r, torch.Tensor) for r in recorded):
            if len(recorded) == 1:
                return recorded[0]
            return torch.cat(recorded) if recorded[0].ndim else torch.stack(recorded)
        return list(recorded)

    def __contains__(self, name: object) -> bool:
        return name in self.outputs

    def keys(self) -> list[str]:
        """The watched module names, in the order given."""
        return list(self.names)

    def items(self):
        """``(name, recorder[name])`` for every module that recorded something."""
        return [(n, self[n]) for n in self.names if self.outputs[n]]

    def __repr__(self) -> str:
        state = "attached" if self.attached else "detached"
        counts = ", ".join(f"{n}: {len(v)}" for n, v in self.outputs.items())
        return f"FeatureRecorder({state}, calls={{{counts}}})"
