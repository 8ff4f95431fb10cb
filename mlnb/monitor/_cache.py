"""The latest-window report ``mlnb monitor check`` computes, kept until one of its inputs changes.

A report is a pure function of its inputs: the prediction and outcome logs (files written whole
and renamed into place, never rewritten: a file's path, size and modification time identify its
rows), the model's registered version (its training profile and signature), the window spec, the
metrics asked for, mlnb's code and the numerical libraries' versions. The key is a SHA-256 of all
of them; a check whose key matches the kept one reads the kept latest window (a small JSON file
under ``.mlnb/monitor-cache``, :class:`._latest.LatestWindow`) instead of computing it, so a check
of an unchanged log costs a listing of the log's files and imports neither numpy nor pandas. Any new prediction or outcome file, a new version, a changed spec, an edited
mlnb source file or an upgraded library gives a new key and the report is computed again (and
kept in place of the old one).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .._whole import write_whole  # noqa: F401 - the caches here write through it (a ``.tmp`` left by a kill is swept)

#: bumped when what is kept, or how it is computed, changes meaning
CACHE_FORMAT = 2
_CODE = Path(__file__).resolve().parents[1]


def _files(folder: Path) -> list[tuple[str, int, int]]:
    out = []
    for f in sorted(folder.glob("date=*/part-*.parquet")):
        st = f.stat()
        out.append((f"{f.parent.name}/{f.name}", st.st_size, st.st_mtime_ns))
    return out


def _code() -> list[tuple[str, int, int]]:
    """mlnb's sources a report runs (monitoring and the checks' statistics): edited code, new key."""
    out = []
    for sub in ("monitor", "checks"):
        for f in sorted((_CODE / sub).rglob("*.py")):
            st = f.stat()
            out.append((str(f.relative_to(_CODE)), st.st_size, st.st_mtime_ns))
    return out


#: the libraries a report's numbers come from
LIBRARIES = ("numpy", "pandas", "pyarrow", "scipy", "numba")


def _libraries() -> dict[str, str]:
    """Versions of the libraries a report's numbers come from: an upgrade may change a last digit
    (by their installed metadata: importing them would cost more than a check of an unchanged log)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = ""
    return out


def model_version(model: str) -> Any:
    """The registered version ``model`` names, or None (a log of a model never registered)."""
    from ..errors import NotFound
    from ..models._refs import resolve

    try:
        return resolve(model)
    except NotFound:
        return None


def key(project: Any, name: str, model: str, window: Any, metrics: Any) -> str:
    """The SHA-256 of everything the latest-window report of ``model`` depends on."""
    from .. import __version__
    from ._log import outcomes_dir, predictions_dir
    version = model_version(model)
    inputs = {
        "format": CACHE_FORMAT, "mlnb": __version__, "code": _code(), "libraries": _libraries(), "model": model, "window": str(window),
        "metrics": sorted(metrics) if metrics is not None else None,
        "version": None if version is None else [version.ref, version.profile_md5, version.signature],
        "predictions": _files(predictions_dir(project, name)), "outcomes": _files(outcomes_dir(project, name)),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def _slot(project: Any, name: str, window: Any, metrics: Any) -> Path:
    what = json.dumps([str(window), sorted(metrics) if metrics is not None else None])
    return Path(project.mlnb_dir) / "monitor-cache" / name / hashlib.sha256(what.encode()).hexdigest()[:16]


def _young(path: Path) -> bool:
    """Written in the last minute: maybe another check's file still being written."""
    import time

    try:
        return time.time() - path.stat().st_mtime < 60
    except OSError:
        return False


def load(project: Any, name: str, window: Any, metrics: Any, digest: str) -> Any:
    """The kept :class:`._latest.LatestWindow` for ``digest``, or None."""
    path = _slot(project, name, window, metrics) / f"{digest}.json"
    try:
        text = path.read_text()
    except OSError:
        return None
    from ._latest import LatestWindow

    try:
        return LatestWindow.from_json(text)
    except (ValueError, KeyError, TypeError):  # a damaged file: computed again
        return None


def ignored(folder: Path) -> None:
    """``folder`` (under ``.mlnb/monitor-cache``) made, and the cache kept out of git."""
    folder.mkdir(parents=True, exist_ok=True)
    ignore = Path(folder)
    while ignore.name != "monitor-cache" and ignore.parent != ignore:
        ignore = ignore.parent
    if not (ignore / ".gitignore").exists():
        (ignore / ".gitignore").write_text("# mlnb monitor's kept reports: scratch, recomputed when missing\n*\n")


def keep(project: Any, name: str, window: Any, metrics: Any, digest: str, latest: Any) -> None:
    """Keep ``latest`` under ``digest`` (written whole, then renamed into place), in place of any
    older one of the same model, window and metrics. A cache that cannot be written is skipped."""
    slot = _slot(project, name, window, metrics)
    try:
        ignored(slot)
        write_whole(slot / f"{digest}.json", latest.to_json().encode())
        for old in [*slot.glob("*.json"), *slot.glob("*.parquet"), *slot.glob(".*.tmp")]:  # older ones, leftovers
            if old.name != f"{digest}.json" and not (old.suffix == ".tmp" and _young(old)):
                old.unlink(missing_ok=True)
    except OSError:
        return
