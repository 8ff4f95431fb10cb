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
