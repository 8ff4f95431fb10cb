"""A segment: a set of registry records as one gzip-compressed JSON document, named by the sha256
of its bytes. JSON and nothing else: reading a segment someone pushed never runs code.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import MlnbError
from ._columns import pack, unpack

FORMAT = "mlnb-sync/1"

class ColumnRows(Sequence[tuple[Any, ...]]):
    """A decoded table's rows, kept as its columns: iterating makes each row's tuple as it goes,
    so the driver inserts 10^6 rows without a list of 10^6 tuples being made first."""

    def __init__(self, columns: list[Sequence[Any]], count: int) -> None:
        self.columns, self.count = columns, count

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return zip(*self.columns)

    def __getitem__(self, i: Any) -> Any:  # a row (or a list of rows for a slice)
        if isinstance(i, slice):
            return list(zip(*(c[i] for c in self.columns)))
        return tuple(c[i] for c in self.columns)

    def column(self, i: int) -> Sequence[Any]:
        return self.columns[i]


#: ``{table: (columns, rows)}``
Tables = dict[str, tuple[list[str], Sequence[Any]]]


class SegmentRefused(MlnbError):
    """A segment on the remote is damaged or not one mlnb can read; nothing was merged from it."""


def encode(tables: Tables) -> tuple[str, bytes]:
    """(sha256, bytes) of a segment holding ``tables``; the same tables give the same bytes."""
    doc = {"format": FORMAT, "tables": {
        name: {"columns": cols, "count": len(rows), "data": [pack(c) for c in zip(*rows)]}
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
        try:
            cols, count, data = body["columns"], body["count"], body["data"]
            if not (isinstance(cols, list) and all(isinstance(c, str) for c in cols) and type(count) is int
                    and isinstance(data, list) and len(data) == len(cols)):
                raise ValueError("columns, count and data do not agree")
            tables[table] = (cols, ColumnRows([unpack(c, count) for c in data], count))
        except (KeyError, TypeError, ValueError) as exc:
            raise SegmentRefused(f"segment {name}: table {table!r} is malformed ({exc}): nothing was merged") from None
    return tables
