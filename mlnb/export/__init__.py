"""Export a notebook as a reproducible DVC pipeline: one plain script per stage, ``dvc.yaml``, ``params.yaml``.

>>> mlnb.export.export("analysis.ipynb", "pipeline")              # doctest: +SKIP
>>> mlnb.export.export("analysis.ipynb", "pipeline", check=True)  # doctest: +SKIP

See docs/export.md for the markers, the dependency rules and the limits.
"""

from .._lazy import lazy_exports

# lazy, so that `mlnb.export.cells` (the CLI's argument definitions) loads without the planner
__getattr__, __dir__, __all__ = lazy_exports(__name__, {"Exported": "_export", "export": "_export"})
