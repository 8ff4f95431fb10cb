"""Saving a fitted profile and loading it back: fit on the training data once, score in CI later.

One ``.npz`` file (no pickle): a JSON header with each column's counts, moments, category counts
and notes, and per numeric column a float64 array of its finite values and one of its bin edges
(with the grid they sit on), so a loaded profile has the same bins and scores exactly like the
original. Files of format 1 (no edges) are still read: their bins are fitted again.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MlnbError, NotFound, UsageError
from ._columns import ColumnData
from ._profile import ColumnProfile, Profile
from .stats.binning import ReferenceBins

FORMAT = "mlnb-profile/2"
READABLE = ("mlnb-profile/1", FORMAT)
_JSON_SCALARS = (str, int, float, bool)


def save_profile(profile: Profile, path: str | Path) -> Path:
    out = Path(path)
    if out.suffix != ".npz":
        raise UsageError(f"save a profile as a .npz file, got {out.name}")
    out.parent.mkdir(parents=True, exist_ok=True)
    columns, arrays = [], {}
    for i, (name, col) in enumerate(profile.columns.items()):
        entry: dict[str, Any] = {"name": name, "kind": col.kind, "n_rows": col.n_rows, "n_missing": col.n_missing,
                                 "n_inf": col.n_inf, "notes": list(col.notes)}
        if col.numeric is not None:
            edges, grid, snapped, split = col.numeric.bins.state()
            arrays[f"values_{i}"], arrays[f"edges_{i}"] = col.numeric.values, edges
            if split is not None:
                arrays[f"split_{i}"] = split
            entry.update(mean=col.numeric.mean, std=col.numeric.std, grid=grid, snapped=snapped)
        if col.counts is not None:
            if not all(isinstance(k, _JSON_SCALARS) or k is None for k in col.counts):
                entry["notes"].append("category values saved as text")
            entry["counts"] = [[k if isinstance(k, _JSON_SCALARS) else str(k), v] for k, v in col.counts.items()]
        columns.append(entry)
    header = json.dumps({"format": FORMAT, "source": profile.source, "columns": columns})
    with out.open("wb") as fh:
        np.savez_compressed(fh, header=np.array(header), **arrays)
    return out


def load_profile(path: str | Path, *, index: bool = True) -> Profile:
    """A profile written by :meth:`Profile.save` (``index``: see :func:`mlnb.checks.profile`).

    >>> profile = mlnb.checks.load_profile("profiles/train.npz")   # doctest: +SKIP
    >>> profile.drift(today_df).exit_code                          # doctest: +SKIP
    """
    p = Path(path)
    if not p.is_file():
        raise NotFound(f"no profile file at {p}: save one with mlnb.checks.profile(df).save({str(p)!r})")
    again = "save the profile again with mlnb.checks.profile(df).save(...)"
    try:
        with np.load(p, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            arrays = {k: data[k] for k in data.files if k != "header"}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise MlnbError(f"{p} is not an mlnb profile file ({exc}): {again}") from None
    if not isinstance(header, dict) or header.get("format") not in READABLE:
        found = header.get("format") if isinstance(header, dict) else None
        raise MlnbError(f"{p} is not an mlnb profile file (format {found!r}): {again}")
    cols = {}
    for i, c in enumerate(header["columns"]):
        values = arrays.get(f"values_{i}")
        counts = {k: v for k, v in c["counts"]} if "counts" in c else None
        data = ColumnData(c["name"], c["kind"], c["n_rows"], c["n_missing"], c["n_inf"], values=values,
                          counts=counts, notes=c["notes"])
        bins = None
        if f"edges_{i}" in arrays:
            bins = ReferenceBins.restore(arrays[f"edges_{i}"], c.get("grid"), bool(c.get("snapped")),
                                         arrays.get(f"split_{i}"))
        cols[c["name"]] = ColumnProfile.fit(data, c.get("mean"), c.get("std"), index=index, bins=bins)
    return Profile(cols, header.get("source", str(p)))
