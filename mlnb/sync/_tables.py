"""Which registry tables travel, and how a record is named everywhere.

Read from the schema, table by table and column by column, so a column or table another area adds
travels without a change here. A record is named by its natural key, never by a local
autoincrement id: a column that points at such an id (a foreign key) travels as the natural key
of the record it points at. Only what cannot be read from the schema is written down below.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table

from ..store import _schema

#: tables that are bookkeeping, not history: the schema version, the change counter, sync's own
#: state; ``aliases`` is the alias events replayed (mlnb/sync/_aliases.py), so it is not sent.
LOCAL_ONLY = {"mlnb_meta", "mlnb_revision", "sync_segments", "sync_records", "aliases"}

#: natural keys where the primary key is a local id (default: every column sent but the number)
KEYS: dict[str, tuple[str, ...]] = {
    "datasets": ("name",),
    "data_versions": ("dataset_id", "md5"),
    "models": ("name",),
    "model_versions": ("model_id", "md5"),
    "model_evaluations": ("model_version_id", "data_version_id", "target"),
    "alerts": ("rule", "model", "started_at"),
    "run_metrics": ("run_id", "key", "step", "logged_at"),
}

#: numbers given per group, in the order records were made: (group column, number column)
NUMBERED: dict[str, tuple[str, str]] = {
    "data_versions": ("dataset_id", "version"),
    "model_versions": ("model_id", "version"),
    "routing_events": ("model_id", "seq"),
}

#: records that change after they are made: of two states, the one greater in these columns wins
#: (then the greater serialisation), so every clone keeps the same one whatever the order it saw them
FRESHER: dict[str, tuple[str, ...]] = {
    "runs": ("ended_at", "heartbeat_at", "curated_at"),
    "run_latest": ("step",),
    "alerts": ("evaluated_at", "resolved_at"),
}

#: id columns the schema does not declare as foreign keys
EXTRA_REFS: dict[tuple[str, str], str] = {("run_artifacts", "data_version_id"): "data_versions"}

#: tables sent per run by count (a run's points are only ever appended, by the run's own process)
BY_RUN = "run_metrics"


@dataclass(frozen=True)
class Spec:
    """How one table travels."""

    table: Table
    local_id: str | None  # the autoincrement integer key: never sent
    columns: tuple[str, ...]  # the columns sent
    refs: dict[str, str]  # column -> table whose natural key replaces the local id
    key: tuple[str, ...]
    number: tuple[str, str] | None
    fresh: tuple[str, ...]

    @property
    def name(self) -> str:
        # a plain str: SQLAlchemy's name type is a str subclass, which the sqlite3 driver adapts
        # value by value (60,000 sync marks of a 10,000-run pull paid 0.2 s for it)
        return str(self.table.name)

    def default(self, column: str) -> Any:
        """What a column holds when a segment written before it existed does not say: its
        schema default when that is a plain value, else NULL."""
        default = self.table.c[column].default
        return default.arg if default is not None and default.is_scalar else None


def specs() -> list[Spec]:
    """Every table that holds history, a table after those it points at."""
    out = []
    for table in _schema.metadata.sorted_tables:
        if table.name in LOCAL_ONLY or table.name.startswith("sync_"):
            continue
        auto = table.autoincrement_column
        local_id = auto.name if auto is not None and auto.type.python_type is int else None
        refs: dict[str, str] = {}
        for col in table.columns:
            for fk in col.foreign_keys:
                target = fk.column.table
                if target.autoincrement_column is not None and target.autoincrement_column is fk.column:
                    refs[col.name] = target.name
            if (table.name, col.name) in EXTRA_REFS:
                refs[col.name] = EXTRA_REFS[(table.name, col.name)]
        columns = tuple(c.name for c in table.columns if c.name != local_id)
        number = NUMBERED.get(table.name)
        if table.name in KEYS:
            key = KEYS[table.name]
        elif local_id is None:
            key = tuple(c.name for c in table.primary_key.columns)
        else:
            key = tuple(c for c in columns if number is None or c != number[1])
        out.append(Spec(table, local_id, columns, refs, key, number, FRESHER.get(table.name, ())))
    return _after_targets(out)


def _after_targets(unordered: list[Spec]) -> list[Spec]:
    """Each table after every table its ids point at (EXTRA_REFS are not in the schema's order)."""
    names = {s.name for s in unordered}
    placed: list[Spec] = []
    left = list(unordered)
    while left:
        done = {s.name for s in placed}
        ready = [s for s in left if all(t in done or t not in names or t == s.name for t in s.refs.values())]
        ready = ready or left[:1]  # a cycle (none today): keep the schema's order
        placed.extend(ready)
        left = [s for s in left if s not in ready]
    return placed


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _compiled_encode() -> Any:
    """``_ENCODER.encode`` without the C encoder being made again on every call (which is most of
    the cost of encoding a short key: a pull names 60,000 records); ``None`` without the C encoder."""
    from json import encoder

    if encoder.c_make_encoder is None:  # pragma: no cover - CPython always has it
        return None
    make = encoder.c_make_encoder(None, _ENCODER.default, encoder.encode_basestring, None, ":", ",",
                                  True, False, True)
    return lambda value: "".join(make(value, 0))


_ENCODE = _compiled_encode() or _ENCODER.encode


def canonical(value: Any) -> str:
    """The one serialisation of a value: sorted keys, no spaces (floats as Python writes them)."""
    return _ENCODE(value)


def key_of(spec: Spec, row: dict[str, Any]) -> str:
    """A record's natural key as text (the name sync_records keeps)."""
    return canonical([row[c] for c in spec.key])
