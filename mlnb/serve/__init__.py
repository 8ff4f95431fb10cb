"""Serving registered models: routings (which versions answer, with what share), ``mlnb serve``,
and manifests for KServe, Seldon Core 2 and BentoML."""

from .._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {"manifests": "_manifests", "storage_uri": "_manifests"})
