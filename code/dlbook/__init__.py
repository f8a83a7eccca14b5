"""dlbook: the tested companion package of the book.

Everything a chapter builds once and later reuses lives here:

- :mod:`dlbook.data`   — the data registry (canonical URLs, checksums, cache, ``$DLBOOK_DATA``),
  tensor-native loaders such as :func:`~dlbook.data.load_mnist`, synthetic generators.
- :mod:`dlbook.train`  — :class:`~dlbook.train.Trainer` (fit / evaluate / predict, checkpoints,
  schedulers, clipping, LR range test, TensorBoard), :class:`~dlbook.train.History`, callbacks, metrics.
- :mod:`dlbook.models` — architectures the chapters reuse, such as :class:`~dlbook.models.MLP`.
- :mod:`dlbook.plots`  — the book's figure style and its recurring figures.
- :mod:`dlbook.autograd` — the scalar autograd engine built in "An autograd engine from scratch".
"""

from . import autograd, data, models, plots, train
from .train import History, Trainer
from .utils import get_device, seed_everything

__version__ = "0.1.0"

__all__ = ["seed_everything", "get_device", "Trainer", "History", "autograd", "data", "train", "models", "plots",
           "__version__"]
