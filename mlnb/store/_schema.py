"""The registry's tables, one schema for SQLite and PostgreSQL (SQLAlchemy Core).

Each entry of ``MIGRATIONS`` brings the schema from version ``i`` to ``i + 1``; the version
reached is kept in ``mlnb_meta``. Add tables by appending a migration, never by editing one.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

meta = Table(
    "mlnb_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("path", Text, nullable=False),  # relative to the project root, posix
    Column("created_at", Float, nullable=False),
)

data_versions = Table(
    "data_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dataset_id", Integer, ForeignKey("datasets.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("md5", String(64), nullable=False),  # DVC's hash: a file md5, or "<md5>.dir"
    Column("size", BigInteger, nullable=False),
    Column("nfiles", Integer),
    Column("rows", BigInteger),
    Column("cols", Integer),
    Column("summary", Text),  # JSON: per-column dtype and summary statistics, when tabular
    Column("message", Text, nullable=False, default=""),
    Column("git_commit", String(64)),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("dataset_id", "version"),
    UniqueConstraint("dataset_id", "md5"),
    Index("ix_data_versions_md5", "md5"),
)


def _create(*tables: Table) -> Callable[[Connection], None]:
    def migrate(conn: Connection) -> None:
        metadata.create_all(conn, tables=list(tables))

    return migrate


MIGRATIONS: list[Callable[[Connection], None]] = [
    _create(meta, datasets, data_versions),
]


# -- runs (migration 2) ----------------------------------------------------------------------
# A run's scalar fields live in `runs`; params, metric points, the latest value of each metric,
# tags, artifacts and the data versions it read or wrote each get a narrow table indexed for the
# filters `mlnb runs list` compiles to SQL. NaN is not storable in SQLite (it becomes NULL), so a
# metric value is stored as NULL plus `is_nan`; +/-inf are stored as such on both backends.

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("status", String(16), nullable=False),  # running finished failed interrupted crashed
    Column("error", Text),  # exception summary of a failed run
    Column("started_at", Float, nullable=False),
    Column("ended_at", Float),
    Column("heartbeat_at", Float),
    Column("parent_id", String(32)),
    Column("host", String(255)),
    Column("pid", Integer),
    Column("proc_start", String(32)),  # start time of the process, to tell a reused pid apart
    Column("notebook", Text),  # notebook or script path
    Column("code", Text),  # cell source (or script source)
    Column("git_commit", String(64)),
    Column("git_dirty", Integer),
    Column("environment", Text),  # JSON: python, platform, package versions
    Index("ix_runs_started_at", "started_at"),
    # only running runs: what the crash check reads before every listing
    Index("ix_runs_running", "status", sqlite_where=text("status = 'running'"),
          postgresql_where=text("status = 'running'")),
    Index("ix_runs_name", "name"),
)

run_params = Table(
    "run_params",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),  # JSON text of the value
    Column("num", Float),  # the value as a number when it is one, for numeric filters
    Index("ix_run_params_key_num", "key", "num"),
)

run_metrics = Table(
    "run_metrics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("value", Float),
    Column("is_nan", Integer, nullable=False, default=0),
    Column("logged_at", Float, nullable=False),
    Index("ix_run_metrics_run_key_step", "run_id", "key", "step"),
)

run_latest = Table(
    "run_latest",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", Float),
    Column("is_nan", Integer, nullable=False, default=0),
    Column("step", BigInteger, nullable=False),
    Index("ix_run_latest_key_value", "key", "value"),
)

run_tags = Table(
    "run_tags",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(255), primary_key=True),
    Index("ix_run_tags_tag", "tag"),
)

run_artifacts = Table(
    "run_artifacts",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("path", Text, primary_key=True),
    Column("md5", String(64)),
    Column("size", BigInteger),
    Column("data_version_id", Integer),  # set when the artifact was versioned with DVC
    Column("logged_at", Float, nullable=False),
)

run_data = Table(
    "run_data",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("data_version_id", Integer, ForeignKey("data_versions.id"), primary_key=True),
    Column("direction", String(8), primary_key=True),  # input | output
    Index("ix_run_data_version", "data_version_id"),
)

MIGRATIONS.append(_create(runs, run_params, run_metrics, run_latest, run_tags, run_artifacts, run_data))


# -- the registry's revision (migration 3) ---------------------------------------------------
# One row whose counter every write transaction that changes a row bumps before it commits
# (Registry.write), so "did anything change?" is one primary-key read on either backend. The
# instance id tells a registry apart from one made again at the same place.

revision = Table(
    "mlnb_revision",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("instance", String(32), nullable=False),
    Column("revision", BigInteger, nullable=False),
)


def _create_revision(conn: Connection) -> None:
    import uuid

    metadata.create_all(conn, tables=[revision])
    conn.execute(revision.insert(), {"id": 1, "instance": uuid.uuid4().hex, "revision": 0})


MIGRATIONS.append(_create_revision)


# -- models (migration 4) --------------------------------------------------------------------
# A model version is a hash in DVC's cache like a data version; the registry keeps what made it
# (run, data versions), what it expects (signature) and what it scored. An alias names one version
# per model; every move of an alias is a row of `alias_events`, written in the same transaction.

models = Table(
    "models",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("md5", String(64), nullable=False),  # DVC's hash of the model file (or "<md5>.dir")
    Column("flavour", String(64), nullable=False),  # sklearn, onnx, xgboost, torch, ...
    Column("format", String(32), nullable=False),  # skops, pickle, file, dir
    Column("size", BigInteger, nullable=False),
    Column("nfiles", Integer),
    Column("run_id", String(32)),  # the run active when it was registered
    Column("metrics", Text),  # JSON: {name: number}
    Column("signature", Text),  # JSON: mlnb.checks schema of the training frame
    Column("profile_md5", String(64)),  # DVC hash of the training profile (.npz)
    Column("message", Text, nullable=False, default=""),
    Column("user", String(255)),
    Column("host", String(255)),
    Column("git_commit", String(64)),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("model_id", "version"),
    UniqueConstraint("model_id", "md5"),
    Index("ix_model_versions_run", "run_id"),
)

model_data = Table(
    "model_data",
    metadata,
    Column("model_version_id", Integer, ForeignKey("model_versions.id"), primary_key=True),
    Column("data_version_id", Integer, ForeignKey("data_versions.id"), primary_key=True),
    Index("ix_model_data_version", "data_version_id"),
)

aliases = Table(
    "aliases",
    metadata,
    Column("model_id", Integer, ForeignKey("models.id"), primary_key=True),
    Column("alias", String(255), primary_key=True),
    Column("model_version_id", Integer, ForeignKey("model_versions.id"), nullable=False),
    Column("moved_at", Float, nullable=False),
)

alias_events = Table(
    "alias_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("alias", String(255), nullable=False),
    Column("action", String(16), nullable=False),  # promote | rollback | set | remove
    Column("from_version_id", Integer, ForeignKey("model_versions.id")),
    Column("to_version_id", Integer, ForeignKey("model_versions.id")),
    Column("reason", Text, nullable=False, default=""),
    Column("gates", Text),  # JSON: one row per gate (gate, passed, value, detail)
    Column("forced", Integer, nullable=False, default=0),
    Column("user", String(255)),
    Column("host", String(255)),
    Column("created_at", Float, nullable=False),
    Index("ix_alias_events_model_alias", "model_id", "alias", "id"),
)

model_evaluations = Table(
    "model_evaluations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_version_id", Integer, ForeignKey("model_versions.id"), nullable=False),
    Column("data_version_id", Integer, ForeignKey("data_versions.id"), nullable=False),
    Column("target", String(255), nullable=False),
    Column("task", String(16), nullable=False),  # classification | regression
    Column("metrics", Text, nullable=False),  # JSON
    Column("rows", BigInteger, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("model_version_id", "data_version_id", "target"),
)

MIGRATIONS.append(_create(models, model_versions, model_data, aliases, alias_events, model_evaluations))


# -- routings (migration 5) ------------------------------------------------------------------
# Which versions of a model answer its requests, with what share (mlnb.serve). Every change is one
# row; the routing in force is the model's row with the highest `seq`. `seq` counts a model's
# routings from 1 and is unique per model, so of two concurrent changes made against the same
# routing exactly one commits (the other hits the constraint): a compare-and-set on both backends.

routing_events = Table(
    "routing_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("seq", Integer, nullable=False),  # 1, 2, 3 ... per model
    Column("action", String(16), nullable=False),  # deploy | rollback
    Column("routing", Text, nullable=False),  # JSON: strategy, key, arms (mlnb.serve.Routing)
    Column("resolved", Text, nullable=False),  # JSON: {arm: version number} when it was set
    Column("reason", Text, nullable=False, default=""),
    Column("user", String(255)),
    Column("host", String(255)),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("model_id", "seq"),
)

MIGRATIONS.append(_create(routing_events))


# -- monitoring alerts (migration 6) ---------------------------------------------------------
# One row per alert: a rule of monitoring.yaml that fired for a model, from firing to resolved.
# At most one alert per (rule, model) is firing (a partial unique index: two checks at once cannot
# both open one). `deliveries` is JSON, one entry per channel and event (firing, resolved) with
# its state (pending, sent, failed), attempts and last error; `undelivered` counts the entries not
# sent yet, so the next check finds what to retry with one indexed read.

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule", String(255), nullable=False),
    Column("model", String(255), nullable=False),
    Column("expression", Text, nullable=False),  # the rule's condition when it fired
    Column("severity", String(16), nullable=False),  # warning | critical
    Column("window_spec", String(64), nullable=False),  # the rule's window: 1D, 10000 ...
    Column("window_start", Float),  # the window evaluated (latest value seen)
    Column("window_end", Float),
    Column("value", Float),
    Column("threshold", Float),  # static rules
    Column("lower", Float),  # band rules: the calibrated band
    Column("upper", Float),
    Column("status", String(16), nullable=False),  # firing | resolved
    Column("started_at", Float, nullable=False),
    Column("evaluated_at", Float, nullable=False),
    Column("resolved_at", Float),
    Column("note", Text),  # why it resolved: the condition cleared, the rule was removed
    Column("deliveries", Text, nullable=False),
    Column("undelivered", Integer, nullable=False, default=0),
    Index("ix_alerts_rule_model", "rule", "model", "id"),
    Index("ix_alerts_model_status", "model", "status"),
    Index("ix_alerts_undelivered", "model", "undelivered"),
    Index("ux_alerts_firing", "rule", "model", unique=True, sqlite_where=text("status = 'firing'"),
          postgresql_where=text("status = 'firing'")),
)

MIGRATIONS.append(_create(alerts))


# -- sharing through the DVC remote (migration 7) --------------------------------------------
# mlnb.sync: the segments this registry pushed or pulled (by the sha256 of their bytes), and per
# record (table, natural key) the digest the remote holds; a record whose digest differs, or that
# has none, is new to the remote. `claim` is the version number (or routing seq) a record was
# pushed with: the numbers shown are a function of every claim on the remote (mlnb/sync/_numbers.py).

sync_segments = Table(
    "sync_segments",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("direction", String(8), nullable=False),  # push | pull
    Column("records", BigInteger, nullable=False),
    Column("at", Float, nullable=False),
)

sync_records = Table(
    "sync_records",
    metadata,
    Column("tbl", String(64), primary_key=True),
    Column("key", Text, primary_key=True),  # JSON of the record's natural key
    Column("digest", String(64), nullable=False),
    Column("origin", String(8), nullable=False),  # push (mine) | pull (theirs)
    Column("claim", BigInteger),
)

MIGRATIONS.append(_create(sync_segments, sync_records))

# -- curating runs (migration 8) -------------------------------------------------------------
# A run belongs to an experiment (a name given when it starts, or later), carries a free note, and
# has a lifecycle like MLflow's: `active`, `archived` or `deleted`. Archived and deleted runs stay
# stored (nothing is removed); listings hide them unless asked. Every curation (rename, note,
# experiment, delete, restore, archive) is one row of `run_events` — who, when, before, after —
# written in the transaction that makes the change.

_CURATION_COLUMNS = [
    Column("experiment", String(255)),
    Column("note", Text),
    Column("lifecycle", String(16), nullable=False, server_default="active"),  # active archived deleted
    Column("curated_at", Float),  # the last curation: of two states of a run, sync keeps the later one
]
for _column in _CURATION_COLUMNS:
    runs.append_column(_column)
_CURATION_INDEXES = [
    Index("ix_runs_lifecycle_started", runs.c.lifecycle, runs.c.started_at),
    Index("ix_runs_experiment_started", runs.c.experiment, runs.c.started_at),
]

run_events = Table(
    "run_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), nullable=False),
    Column("action", String(16), nullable=False),  # rename note experiment delete restore archive
    Column("before", Text),
    Column("after", Text),
    Column("user", String(255)),
    Column("host", String(255)),
    Column("created_at", Float, nullable=False),
    Index("ix_run_events_run", "run_id", "id"),
)


def _curate_runs(conn: Connection) -> None:
    """Add the curation columns to an existing ``runs`` table (a registry made by migration 2
    before them; a new registry's ``runs`` already has them), their indexes and ``run_events``."""
    from sqlalchemy import inspect

    have = {c["name"] for c in inspect(conn).get_columns("runs")}
    for column in _CURATION_COLUMNS:
        if column.name not in have:
            kind = column.type.compile(dialect=conn.dialect)
            default = f" DEFAULT '{column.server_default.arg}'" if column.server_default is not None else ""
            null = "" if column.nullable else " NOT NULL"
            conn.execute(text(f"ALTER TABLE runs ADD COLUMN {column.name} {kind}{default}{null}"))
    for index in _CURATION_INDEXES:
        index.create(conn, checkfirst=True)
    metadata.create_all(conn, tables=[run_events])


MIGRATIONS.append(_curate_runs)

#: the schema version from which runs have their curation columns (the stdlib fast path checks it)
CURATION_SCHEMA = len(MIGRATIONS)
