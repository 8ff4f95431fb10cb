"""Export a notebook as a reproducible DVC pipeline: one plain script per stage, ``dvc.yaml``, ``params.yaml``.

>>> mlnb.export.export("analysis.ipynb", "pipeline")              # doctest: +SKIP
>>> mlnb.export.export("analysis.ipynb", "pipeline", check=True)  # doctest: +SKIP

See docs/export.md for the markers, the dependency rules and the limits.
"""

from ._export import Exported, export

__all__ = ["Exported", "export"]
