"""Packages whose public names load on first use, so importing a package (or its ``_cli``
module, which the CLI and ``%mlops`` import to build their parser) costs no pandas, SQLAlchemy
or DVC import."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package``.

    ``exports`` maps a public name to ``"submodule"`` or ``"submodule:attribute"`` (when the
    public name differs, e.g. ``"list": "_versions:list_datasets"``).

    >>> __getattr__, __dir__, __all__ = lazy_exports(__name__, {"save": "_versions"})  # doctest: +SKIP
    """
    names = sorted(exports)

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attr = exports[name].partition(":")
        value = getattr(importlib.import_module(f"{package}.{module}"), attr or name)
        setattr(importlib.import_module(package), name, value)
        return value

    def __dir__() -> list[str]:
        return names

    return __getattr__, __dir__, names
