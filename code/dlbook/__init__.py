"""dlbook: the tested companion package of the book.

Everything a chapter builds once and later reuses lives here:

- :mod:`dlbook.data`   — the data registry (canonical URLs, checksums, cache, ``$DLBOOK_DATA``),
  tensor-native loaders such as :func:`~dlbook.data.load_mnist`, synthetic generators.
- :mod:`dlbook.train`  — :class:`~dlbook.train.Trainer` (fit / evaluate / predict, checkpoints,
  schedulers, clipping, LR range test, TensorBoard), :class:`~dlbook.train.History`, callbacks, metrics.
- :mod:`dlbook.models` — architectures the chapters reuse, such as :class:`~dlbook.models.MLP`.
- :mod:`dlbook.plots`  — the book's figure style and its recurring figures.
- :mod:`dlbook.vision_plots` — filters and feature maps of convolutional networks.
- :mod:`dlbook.autograd` — the scalar autograd engine built in "An autograd engine from scratch".
- :mod:`dlbook.text_metrics` — BLEU, ROUGE, exact match, token F1 and perplexity, written out once.
- :mod:`dlbook.scale`  — the heavy chapters' one scale switch (``cpu`` or ``gpu`` profile).
- :mod:`dlbook.glue`   — a stand-in for ``myst_nb.glue`` in the generated notebooks.

``import dlbook`` is lazy: a submodule is imported the first time one of its names is used. The
book's build relies on this to re-execute a chapter only when a module it really loaded changes.
"""

from ._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "seed_everything": ".utils", "get_device": ".utils",
    "Trainer": ".train", "History": ".train",
    "autograd": ".autograd", "data": ".data", "train": ".train", "models": ".models",
    "plots": ".plots", "vision_plots": ".vision_plots", "scale": ".scale", "glue": ".glue", "utils": ".utils",
    "text_metrics": ".text_metrics",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = ["seed_everything", "get_device", "Trainer", "History", "autograd", "data", "train", "models", "plots",
           "vision_plots", "scale", "text_metrics", "__version__"]
