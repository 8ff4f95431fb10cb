"""``monitoring.yaml`` as ``mlnb monitor check`` last parsed it, kept beside its reports.

Parsing the file with ruamel (a round-trip parser that keeps comments) costs a check of an
unchanged log more than everything else it reads: about 0.2 s with the import. What a check uses
is only the sections as plain values (:func:`._rules.config_section`), so they are kept as JSON
under ``.mlnb/monitor-cache/monitoring.json`` with the SHA-256 of the bytes they were parsed from,
and a check whose file has those bytes hands them to :mod:`._rules` instead of parsing. A file
with values JSON would not give back the same (YAML floats in rules, dates, tags) is never kept:
it is parsed every time.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from . import _rules

NAME = "monitoring.json"
_PLAIN = (str, int, bool, type(None))


def _kept(root: Path) -> Path:
    return root / ".mlnb" / "monitor-cache" / NAME


def _read(path: Path) -> tuple[bytes, tuple[int, int, int]] | None:
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            return f.read(), (st.st_mtime_ns, st.st_size, st.st_ino)
    except FileNotFoundError:
        return None


def prime(root: Path) -> Any:
    """Hand :mod:`._rules` the kept sections when ``monitoring.yaml`` has the bytes they came from.
    Returns what :func:`save` needs after the rules are loaded (the file as read now)."""
    path = _rules.config_path(root)
    seen = _read(path)
    if seen is None:
        return None
    data, stat = seen
    digest = hashlib.sha256(data).hexdigest()
    hit = _rules._PARSED.get(path)
    if hit is not None and hit[0] == stat:
        return None  # parsed in this process already
    try:
        kept = json.loads(_kept(root).read_text())
        if kept.get("sha256") == digest and kept.get("parser") == _parser():
            _rules._PARSED[path] = (stat, kept["sections"])
            return None
    except (OSError, ValueError, AttributeError, KeyError):
        pass
    return digest, stat


def save(root: Path, primed: Any) -> None:
    """Keep the sections :mod:`._rules` parsed from the bytes :func:`prime` saw (when plain)."""
    if primed is None:
        return
    digest, stat = primed
    path = _rules.config_path(root)
    hit = _rules._PARSED.get(path)
    if hit is None or hit[0] != stat or not _plain(hit[1]):
        return
    from ._cache import ignored, write_whole

    target = _kept(root)
    try:
        ignored(target.parent)
        write_whole(target, json.dumps({"sha256": digest, "parser": _parser(), "sections": hit[1]}).encode())
    except OSError:
        return


def _parser() -> list[Any]:
    """The code that turns the file into sections (an edit of it makes the kept ones stale)."""
    st = Path(_rules.__file__).stat()
    return [st.st_size, st.st_mtime_ns]


def _plain(sections: dict[str, list[dict[str, Any]]]) -> bool:
    """Whether every value comes back the same from JSON: strings, integers, booleans, None, lists
    and mappings of them; floats only in channels (read with ``float()``; a rule reads ``str()``,
    which of a YAML float keeps its written form)."""
    def ok(value: Any, floats: bool) -> bool:
        if isinstance(value, dict):
            return all(type(k) is str and ok(v, floats) for k, v in value.items())
        if isinstance(value, list):
            return all(ok(v, floats) for v in value)
        return type(value) in _PLAIN or (floats and isinstance(value, float) and value == value)

    return all(ok(e, name == "channels") for name, entries in sections.items() for e in entries)
