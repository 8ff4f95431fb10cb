"""Registry rows as portable records and back: what a push sends, and a pull's merge.

A portable record is a row of a table (:mod:`._tables`) with its local ids replaced by natural
keys. ``sync_records`` holds, per record the remote has, the digest of the state it has: a push
sends the records whose digest differs; a pull merges records in one transaction, keeping of two
states of one record the fresher one (the same choice on every clone, whatever the order).
"""

from __future__ import annotations

import hashlib
import marshal
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, func, literal, select

from ..store._engine import insert_many
from ..store._schema import runs as runs_table
from ..store._schema import sync_records as sr
from ._segment import ColumnRows, SegmentRefused, Tables
from ._sharing import meta_value, set_meta_value
from ._tables import BY_RUN, Spec, canonical, key_of, specs

#: (table, key) -> (digest, origin, claim)
Known = dict[tuple[str, str], tuple[str, str, Any]]


def known(conn: Connection, tables: Iterable[str] | None = None) -> Known:
    """What the remote is known to hold: of every table, or of ``tables`` only."""
    q = select(sr.c.tbl, sr.c.key, sr.c.digest, sr.c.origin, sr.c.claim)
    if tables is not None:
        q = q.where(sr.c.tbl.in_(sorted(tables)))
    return {(t, k): (d, o, c) for t, k, d, o, c in conn.execute(q)}


def digest(row: dict[str, Any]) -> str:
    """A record's state: its values in column order, hashed as marshal's version-2 bytes.

    Version 2 writes each value alone (no back-references to an object seen before, no mark for
    an interned string), so equal values give equal bytes whoever built them; floats are their
    8 exact bytes. It is 5x faster than ``repr`` on a run's row (whose code text repr escapes
    character by character). Digests stay in this registry (``sync_records``), never on a remote.
    """
    return hashlib.sha256(marshal.dumps(tuple(row.values()), 2)).hexdigest()[:32]


@dataclass
class View:
    """The registry's rows as portable records, table by table."""

    known: Known
    #: table -> local id -> natural key (a list); and the reverse, by the key's text
    keys: dict[str, dict[Any, list[Any]]] = field(default_factory=lambda: defaultdict(dict))
    ids: dict[str, dict[str, Any]] = field(default_factory=lambda: defaultdict(dict))

    def rows(self, conn: Connection, spec: Spec) -> dict[str, tuple[Any, dict[str, Any]]]:
        """key text -> (local primary key, portable record); numbers are given as their claim."""
        out = {}
        pk_cols = [c.name for c in spec.table.primary_key.columns]
        for r in conn.execute(select(spec.table)).mappings():
            rec = {c: r[c] for c in spec.columns}
            for col, target in spec.refs.items():
                if rec[col] is not None:
                    rec[col] = self.keys[target].get(rec[col])
            key = key_of(spec, rec)
            if spec.number is not None:
                claim = self.known.get((spec.name, key), (None, None, None))[2]
                rec[spec.number[1]] = rec[spec.number[1]] if claim is None else claim
            pk = r[spec.local_id] if spec.local_id else tuple(r[c] for c in pk_cols)
            if spec.local_id:
                self.note(spec.name, pk, [rec[c] for c in spec.key])
            out[key] = (pk, rec)
        return out

    def note(self, table: str, local_id: Any, key: list[Any]) -> None:
        self.keys[table][local_id] = key
        self.ids[table][canonical(key)] = local_id

    def local(self, spec: Spec, rec: dict[str, Any], segment: str) -> dict[str, Any]:
        """A portable record with its natural keys turned into this registry's ids (``rec`` itself
        when it has none and no number to take out)."""
        if not spec.refs and spec.number is None:
            return rec
        row = dict(rec)
        for col, target in spec.refs.items():
            if row.get(col) is not None:
                found = self.ids[target].get(canonical(row[col]))
                if found is None:
                    raise SegmentRefused(f"segment {segment}: a {spec.name} record points at a {target} record "
                                         f"{canonical(row[col])} that no segment holds: nothing was merged")
                row[col] = found
        return row


def insert_rows(conn: Connection, table: Any, cols: list[str], rows: Sequence[Any]) -> None:
    """Rows (tuples in ``cols`` order, or a segment's :class:`ColumnRows`) straight through the
    driver's executemany: at 10^6 rows, SQLAlchemy's per-row parameter handling would cost more
    than the database."""
    if not rows:
        return
    if conn.dialect.name not in ("sqlite", "postgresql"):  # pragma: no cover - other dialects
        conn.execute(table.insert(), [dict(zip(cols, r)) for r in rows])
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    quoted = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in cols)
    insert_many(conn, f"INSERT INTO {table.name} ({quoted}) VALUES ({', '.join([mark] * len(cols))})", rows)


# -- push ------------------------------------------------------------------------------------

def pending(conn: Connection) -> tuple[Tables, list[tuple[str, str, str, Any]]]:
    """The records the remote lacks (or holds in another state), and the marks to keep once sent:
    ``(table, key, digest, claim)``."""
    view = View(known(conn))
    tables: Tables = {}
    marks: list[tuple[str, str, str, Any]] = []
    for spec in specs():
        if spec.name == BY_RUN:
            tables[spec.name] = _new_points(conn, spec, view.known, marks)
            continue
        rows = []
        for key, (_, rec) in sorted(view.rows(conn, spec).items()):
            d = digest(rec)
            if view.known.get((spec.name, key), ("",))[0] != d:
                rows.append(tuple(rec[c] for c in spec.columns))
                marks.append((spec.name, key, d, rec[spec.number[1]] if spec.number else None))
        tables[spec.name] = (list(spec.columns), rows)
    return tables, marks


def _new_points(conn: Connection, spec: Spec, have: Known, marks: list[tuple[str, str, str, Any]]
                ) -> tuple[list[str], list[list[Any]]]:
    """A run's points are appended, only by the run's process: the remote has the first N of
    each run's points in the order they were written, and is sent the rest."""
    t = spec.table
    sent = {k: int(d) for (tbl, k), (d, _, _) in have.items() if tbl == BY_RUN}
    counts = dict(conn.execute(select(t.c.run_id, func.count()).group_by(t.c.run_id)).all())
    runs = sorted(r for r, n in counts.items() if n > sent.get(canonical([r]), 0))
    cols = list(spec.columns)
    rows: list[Any] = []
    cursor = conn.connection.cursor()  # the driver's own rows: 10^6 points, no per-row wrapping
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    try:
        for chunk in _chunks(runs, 500):
            cursor.execute(f"SELECT {', '.join(cols)} FROM {t.name} WHERE run_id IN ({', '.join([mark] * len(chunk))}) "
                           f"ORDER BY run_id, {spec.local_id}", chunk)
            fetched = cursor.fetchall()
            if not any(canonical([r]) in sent for r in chunk):
                rows.extend(fetched)
                continue
            run, skip = None, 0
            for point in fetched:
                if point[0] != run:
                    run = point[0]
                    skip = sent.get(canonical([run]), 0)
                if skip:
                    skip -= 1
                else:
                    rows.append(point)
    finally:
        cursor.close()
    marks.extend((BY_RUN, canonical([r]), str(counts[r]), None) for r in runs)
    return cols, rows


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def keep_marks(conn: Connection, marks: list[tuple[str, str, str, Any]], origin: str, have: Known | None = None
               ) -> None:
    """Remember that the remote holds these records in these states; a record first seen here
    keeps ``origin`` (push: made here; pull: made elsewhere). ``have``: what ``known`` reads now,
    when the caller has it."""
    have = known(conn) if have is None else have
    # in key order: each lands at the end of the primary key's B-tree, not at a random page
    new = sorted((t, k, d, origin, c) for t, k, d, c in marks if (t, k) not in have)
    for t, k, d, c in marks:
        if (t, k) in have and (have[(t, k)][0], have[(t, k)][2]) != (d, c):
            conn.execute(sr.update().where(sr.c.tbl == t, sr.c.key == k).values(digest=d, claim=c))
    insert_rows(conn, sr, ["tbl", "key", "digest", "origin", "claim"], new)


# -- pull ------------------------------------------------------------------------------------

def merge(conn: Connection, segments: list[tuple[str, Tables]]) -> dict[str, int]:
    """Merge segments' records into the registry (the caller's transaction); returns how many
    records each table gained or changed."""
    before = known(conn)
    view = View(dict(before))
    by_name = {s.name: s for s in specs()}
    for name, tables in segments:
        for table, (cols, _) in tables.items():
            spec = by_name.get(table)
            unknown = sorted(set(cols) - set(spec.columns)) if spec else []
            if spec is None or unknown:
                what = f"table {table!r}" if spec is None else f"column(s) {', '.join(unknown)} of {table}"
                raise SegmentRefused(f"segment {name} holds {what}, unknown to this mlnb (written by a newer "
                                     "version?): nothing was merged; upgrade mlnb")
    counts: dict[str, int] = {}
    marks: list[tuple[str, str, str, Any]] = []
    for spec in by_name.values():
        parts = [(name, *tables[spec.name]) for name, tables in segments if spec.name in tables]
        if spec.name == BY_RUN:
            counts[spec.name] = _merge_points(conn, spec, parts, marks)
            continue
        incoming = [(name, dict(zip(spec.columns, row))) for name, cols, rows in parts
                    for row in _aligned(spec, cols, rows)]
        counts[spec.name] = _merge_table(conn, spec, incoming, view, marks)
    keep_marks(conn, marks, "pull", before)
    return {t: n for t, n in counts.items() if n}


def _fresher(spec: Spec, a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether state ``a`` of a record wins over state ``b``."""
    def rank(r: dict[str, Any]) -> tuple[Any, ...]:
        return (*((r.get(c) is not None, r.get(c) or 0) for c in spec.fresh), canonical(r))

    return rank(a) > rank(b)


def _merge_table(conn: Connection, spec: Spec, incoming: list[tuple[str, dict[str, Any]]], view: View,
                 marks: list[tuple[str, str, str, Any]]) -> int:
    local = view.rows(conn, spec)
    if not incoming:
        return 0
    best: dict[str, tuple[str, dict[str, Any]]] = {}
    for segment, rec in incoming:
        key = key_of(spec, rec)
        if key not in best or _fresher(spec, rec, best[key][1]):
            best[key] = (segment, rec)
    number = spec.number[1] if spec.number else None
    changed, touched = 0, set()
    bulk: list[dict[str, Any]] = []  # rows without a local id: inserted in one executemany
    _check_targets(conn, spec, best)
    # in the order they were made, so local ids (which some listings sort by) follow time
    for key, (segment, rec) in sorted(best.items(), key=lambda kv: (kv[1][1].get("created_at") or 0, kv[0])):
        d = digest(rec)
        marks.append((spec.name, key, d, rec[number] if number else None))
        here = local.get(key)
        if here is not None and (digest(here[1]) == d or not _fresher(spec, rec, here[1])):
            continue
        row = view.local(spec, rec, segment)
        if number:
            touched.add(row[spec.number[0]])
            row.pop(number)
        changed += 1
        if here is None:
            if number:
                row[number] = -1 - changed  # a placeholder; numbers are given below
            if not spec.local_id:
                bulk.append(row)
                continue
            result = conn.execute(spec.table.insert(), row)
            view.note(spec.name, result.inserted_primary_key[0], [rec[c] for c in spec.key])
        else:
            where = _pk_where(spec, here[0])
            conn.execute(spec.table.update().where(*where).values(**{c: v for c, v in row.items() if c not in spec.key}))
    insert_rows(conn, spec.table, list(spec.columns), list(map(itemgetter(*spec.columns), bulk)))
    if touched:
        view.known.update({(t, k): (d, "pull", c) for t, k, d, c in marks if t == spec.name})
        _renumber(conn, spec, touched, view)
    return changed


def _check_targets(conn: Connection, spec: Spec, best: dict[str, tuple[str, dict[str, Any]]]) -> None:
    """Refuse records pointing by a foreign key (other than a local id) at a record that is neither
    here nor arriving: e.g. a run's params without the run."""
    for col in spec.table.columns:
        for fk in col.foreign_keys:
            if col.name in spec.refs:
                continue
            target = fk.column
            wanted = {rec[col.name]: seg for seg, rec in best.values() if rec.get(col.name) is not None}
            found: set[Any] = set()
            for chunk in _chunks(sorted(wanted), 500):
                found.update(v for (v,) in conn.execute(select(target).where(target.in_(chunk))))
            missing = sorted(set(wanted) - found)
            if missing:
                raise SegmentRefused(f"segment {wanted[missing[0]]}: a {spec.name} record points at "
                                     f"{target.table.name} {missing[0]!r}, which no segment holds: nothing was merged")


def _pk_where(spec: Spec, pk: Any) -> list[Any]:
    if spec.local_id:
        return [spec.table.c[spec.local_id] == pk]
    return [c == v for c, v in zip(spec.table.primary_key.columns, pk)]


def _renumber(conn: Connection, spec: Spec, groups: set[Any], view: View) -> None:
    """Give the records of each group their numbers: the records on the remote by the number they
    were pushed with (a clash between two pushed at once goes to the earlier made), then the
    records not pushed yet; each number is its claim, or one more than the number before it."""
    group, number = spec.number  # type: ignore[misc]
    t = spec.table
    local = view.rows(conn, spec)
    by_id = {pk: (key, rec) for key, (pk, rec) in local.items()}
    for g in groups:
        current = dict(conn.execute(select(t.c[spec.local_id], t.c[number]).where(t.c[group] == g)).all())
        order = []
        for pk, now in current.items():
            key, rec = by_id[pk]
            claim = view.known.get((spec.name, key), (None, None, None))[2]
            pushed = claim is not None
            order.append((not pushed, claim if pushed else now, rec.get("created_at") or 0, key, pk))
        wanted, last = {}, 0
        for _, claim, _, _, pk in sorted(order):
            last = max(int(claim), last + 1)
            wanted[pk] = last
        moved = {pk: n for pk, n in wanted.items() if current[pk] != n}
        for pk in moved:  # out of the way first: (group, number) is unique
            conn.execute(t.update().where(t.c[spec.local_id] == pk).values({number: -pk - 1_000_000}))
        for pk, n in moved.items():
            conn.execute(t.update().where(t.c[spec.local_id] == pk).values({number: n}))


def _aligned(spec: Spec, seg_cols: list[str], rows: list[Any]) -> list[Any]:
    """A segment's rows as tuples in ``spec.columns`` order; a column the segment lacks (it was
    written before the column existed) holds the column's default."""
    cols = list(spec.columns)
    if seg_cols == cols:
        return rows
    order = [seg_cols.index(c) if c in seg_cols else None for c in cols]
    fill = [spec.default(c) for c in cols]
    return [tuple(fill[j] if i is None else row[i] for j, i in enumerate(order)) for row in rows]


def _merge_points(conn: Connection, spec: Spec, parts: list[tuple[str, list[str], list[list[Any]]]],
                  marks: list[tuple[str, str, str, Any]]) -> int:
    """A run's points, each once (by run, key, step and time), in one executemany."""
    if not parts:
        return 0
    t = spec.table
    cols = list(spec.columns)
    at = cols.index("run_id")
    aligned = [(name, _aligned(spec, seg_cols, rows)) for name, seg_cols, rows in parts]
    per_run: Counter[str] = Counter()
    came_from: dict[str, str] = {}
    for name, rows in aligned:
        counted = Counter(rows.column(at) if isinstance(rows, ColumnRows) else map(itemgetter(at), rows))
        per_run.update(counted)
        for run in counted:
            came_from.setdefault(run, name)
    runs = sorted(per_run)
    have: dict[str, int] = {}
    present: set[str] = set()
    for chunk in _chunks(runs, 500):
        have.update(conn.execute(select(t.c.run_id, func.count()).where(t.c.run_id.in_(chunk))
                                 .group_by(t.c.run_id)).all())
        present.update(r for (r,) in conn.execute(select(runs_table.c.id).where(runs_table.c.id.in_(chunk))))
    missing = [r for r in runs if r not in present]
    if missing:
        raise SegmentRefused(f"segment {came_from[missing[0]]}: metric points of run {missing[0]}, which no "
                             "segment holds: nothing was merged")
    if len(aligned) == 1 and not have:  # one segment's points, none here yet: all of them are new
        new = aligned[0][1]
    else:
        new = _unseen_points(conn, spec, [rows for _, rows in aligned], have)
        per_run = Counter(map(itemgetter(at), new))
    marks.extend((BY_RUN, canonical([run]), str(have.get(run, 0) + per_run[run]), None) for run in runs)
    with _indexes_after(conn, t, len(new)):
        insert_rows(conn, t, cols, new)
    return len(new)


#: rows from which a pull into an empty SQLite table builds its indexes after the rows, not per row
_BULK = 100_000


@contextmanager
def _indexes_after(conn: Connection, table: Any, rows: int) -> Iterator[None]:
    """Into an empty SQLite table, ``rows`` rows go in faster with the table's indexes dropped and
    built again afterwards (one sort instead of a B-tree insert per row; ~10% of a fresh clone's
    pull). Both happen in the caller's transaction, so an interrupted pull rolls back to the
    indexes as they were. Not on PostgreSQL, where dropping an index locks out the table's readers."""
    bulk = (conn.dialect.name == "sqlite" and rows >= _BULK and table.indexes
            and conn.execute(select(literal(1)).select_from(table).limit(1)).first() is None)
    if bulk:
        for index in table.indexes:
            index.drop(conn)
    yield
    if bulk:
        for index in table.indexes:
            index.create(conn)


def _unseen_points(conn: Connection, spec: Spec, parts: list[list[Any]], have: dict[str, int]) -> list[Any]:
    """The points of ``parts`` not here yet, each once, run by run."""
    t = spec.table
    at = list(spec.columns).index("run_id")
    key_at = itemgetter(*(list(spec.columns).index(c) for c in spec.key))
    by_run: dict[str, list[Any]] = defaultdict(list)
    for rows in parts:
        for row in rows:
            by_run[row[at]].append(row)
    new: list[Any] = []
    for run in sorted(by_run):
        q = select(*(t.c[c] for c in spec.key)).where(t.c.run_id == run)
        seen = {tuple(r) for r in conn.execute(q)} if have.get(run) else set()
        for p in by_run[run]:
            k = key_at(p)
            if k not in seen:
                seen.add(k)
                new.append(p)
    return new


# -- "nothing new since the last push or pull" -----------------------------------------------
# The registry's revision (mlnb_revision) changes with every write that changed a row. A push or
# pull that leaves nothing unsent notes the revision its own transaction commits as; while the
# revision is still that one, a push has nothing to send without reading a record.

_CLEAN = "sync_clean"


def _revision(conn: Connection) -> tuple[str, int]:
    from ..store._schema import revision

    instance, count = conn.execute(select(revision.c.instance, revision.c.revision).where(revision.c.id == 1)).one()
    return instance, count


def is_clean(conn: Connection) -> bool:
    """Nothing was written since a push or pull noted that nothing was left to send."""
    instance, count = _revision(conn)
    return meta_value(conn, _CLEAN) == f"{instance}-{count}"


def note_clean(conn: Connection, seen: tuple[str, int] | None) -> None:
    """In a write transaction that changes rows: nothing is left to send once it commits, provided
    the registry is still at revision ``seen`` (what the records sent were read at)."""
    instance, count = _revision(conn)
    if seen is not None and seen != (instance, count):
        return  # written meanwhile: the next push looks
    set_meta_value(conn, _CLEAN, f"{instance}-{count + 1}")


def forget_clean(conn: Connection) -> None:
    """The next push looks at every record (the remote it sends to changed)."""
    set_meta_value(conn, _CLEAN, None)


def revision_now(conn: Connection) -> tuple[str, int]:
    return _revision(conn)
