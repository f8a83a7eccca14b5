"""A stand-in for ``myst_nb.glue`` in the book's generated notebooks.

The book's pages glue numbers from the run into the prose with ``myst_nb.glue``. A reader's
notebook (Colab, Binder, a download) needs none of that machinery, and installing ``myst-nb`` would
pull in Sphinx and dozens of packages that can upgrade what Colab ships. The generated notebooks
therefore import :func:`glue` from here: it remembers the value and shows it as the cell's output,
as ``myst_nb.glue`` does in Jupyter.
"""

from __future__ import annotations

from typing import Any

__all__ = ["glue", "glued"]

#: Every value glued in this process, by name.
glued: dict[str, Any] = {}


def glue(name: str, variable: Any, display: bool = True) -> None:
    """Remember ``variable`` under ``name`` and, if ``display``, show it like ``myst_nb.glue``.

    Parameters
    ----------
    name : str
        The key the book's prose refers to (a Python identifier).
    variable : object
        The value: a number, a string, a figure, a table …
    display : bool, default True
        Show the value as the cell's output (``False`` keeps the cell quiet).
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"glue name must be an identifier such as 'test_accuracy', got {name!r}")
    glued[name] = variable
    if display:
        try:
            from IPython.display import display as show
        except ImportError:  # plain Python: print what a notebook would show
            print(repr(variable))
        else:
            show(variable)
