"""Lazy exports: ``import dlbook`` loads nothing until a name is used.

The book's build records which ``dlbook`` modules each chapter actually loaded and re-executes a
chapter only when one of those changes, so a package ``__init__`` must not import every submodule
up front. Each package lists its public names and the submodule that defines each one; the first
access imports that submodule (PEP 562 module ``__getattr__``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str], namespace: dict
                 ) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package``.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : mapping of str to str
        Public name -> relative module that defines it (``".trainer"``). A name that maps to its
        own module (``"autograd": ".autograd"``) exports the submodule itself.
    namespace : dict
        The package's ``globals()``: a loaded name is stored there, so later lookups are plain.
    """

    def __getattr__(name: str) -> object:
        try:
            module_name = exports[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        module = importlib.import_module(module_name, package)
        value = module if module_name.lstrip(".") == name else getattr(module, name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
