"""A notebook's cells as export reads them, without importing nbformat when it is not needed.

``nbformat.read`` costs ~2 s of imports in a fresh process here (its JSON-schema validator pulls
in format checkers that build grammars at import), for an answer that, for a notebook already in
format 4, is the file's JSON with every split ``source`` joined. :func:`notebook_cells` returns
exactly that for a notebook whose JSON has the v4 shape export relies on, and hands every other
file to nbformat — older formats (converted), broken JSON and odd shapes (its errors and its
logged schema warnings are then what the user sees, as before).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def notebook_cells(path: Path) -> list[dict[str, Any]]:
    """The cells of the notebook at ``path`` in format 4: their ``cell_type``, ``metadata`` and
    ``source`` (one string) as nbformat reads them; outputs as saved (export does not read them).

    Raises whatever ``nbformat.read`` raises for a file it cannot read.
    """
    cells = _v4_cells(path)
    if cells is not None:
        return cells
    import nbformat

    return nbformat.read(str(path), as_version=4).cells


def _v4_cells(path: Path) -> list[dict[str, Any]] | None:
    """The cells read straight from JSON, or None when nbformat must read the file."""
    try:
        with open(path, encoding="utf-8") as f:  # what nbformat.read opens it with
            nb = json.load(f)
    except (OSError, ValueError):
        return None
    if not (isinstance(nb, dict) and nb.get("nbformat") == 4 and isinstance(nb.get("nbformat_minor"), int)
            and isinstance(nb.get("metadata"), dict) and isinstance(nb.get("cells"), list)):
        return None
    cells = []
    for cell in nb["cells"]:
        if not _plain_cell(cell):
            return None
        source = cell["source"]
        cells.append({**cell, "source": source if isinstance(source, str) else "".join(source)})
    return cells


def _plain_cell(cell: Any) -> bool:
    """A cell of the v4 shape: a known type, a string (or list of strings) source, tags a list of strings."""
    if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
        return False
    source = cell.get("source")
    if not (isinstance(source, str) or (isinstance(source, list) and all(isinstance(s, str) for s in source))):
        return False
    metadata = cell.get("metadata")
    if not isinstance(metadata, dict):
        return False
    tags = metadata.get("tags", [])
    if not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        return False
    return cell["cell_type"] != "code" or (isinstance(cell.get("outputs"), list) and "execution_count" in cell)
