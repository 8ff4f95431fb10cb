"""A segment: a set of registry records as one gzip-compressed JSON document, named by the sha256
of its bytes. JSON and nothing else: reading a segment someone pushed never runs code.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from typing import Any

from ..errors import MlnbError

FORMAT = "mlnb-sync/1"

#: ``{table: (columns, rows)}``
Tables = dict[str, tuple[list[str], list[list[Any]]]]


class SegmentRefused(MlnbError):
    """A segment on the remote is damaged or not one mlnb can read; nothing was merged from it."""


def encode(tables: Tables) -> tuple[str, bytes]:
    """(sha256, bytes) of a segment holding ``tables``; the same tables give the same bytes."""
    doc = {"format": FORMAT, "tables": {name: {"columns": cols, "rows": rows}
                                        for name, (cols, rows) in sorted(tables.items()) if rows}}
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    blob = gzip.compress(raw, compresslevel=3, mtime=0)
    return hashlib.sha256(blob).hexdigest(), blob


def decode(name: str, blob: bytes) -> Tables:
    """The tables of segment ``name``, after checking its bytes hash to its name."""
    if hashlib.sha256(blob).hexdigest() != name:
        raise SegmentRefused(f"segment {name} on the remote does not match its hash (damaged or cut short): "
                             "nothing was merged; delete it from the remote (its writer can push again)")
    try:
        doc = json.loads(gzip.decompress(blob))
    except (OSError, EOFError, ValueError) as exc:
        raise SegmentRefused(f"segment {name} is not a gzip JSON document ({exc}): nothing was merged") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("tables"), dict):
        raise SegmentRefused(f"segment {name} is not in format {FORMAT} (written by another mlnb version?): "
                             "nothing was merged; upgrade mlnb")
    tables: Tables = {}
    for table, body in doc["tables"].items():
        cols, rows = (body.get("columns"), body.get("rows")) if isinstance(body, dict) else (None, None)
        if not isinstance(cols, list) or not isinstance(rows, list) or \
                not all(isinstance(r, list) and len(r) == len(cols) for r in rows):
            raise SegmentRefused(f"segment {name}: table {table!r} is malformed: nothing was merged")
        tables[table] = (cols, rows)
    return tables
