"""One engine per registry URL; a SQLite registry file that is not a sound database is an error."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, select, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, DBAPIError, OperationalError

from ..errors import MlnbError, UsageError
from . import _schema
from ._file import RegistryDamaged, check_registry_file

if TYPE_CHECKING:  # pragma: no cover
    from .._project import Project

_lock = threading.Lock()
_CHANGED = "mlnb_changed"
_DML = {"INSERT", "UPDATE", "DELETE"}
_registries: dict[str, Registry] = {}


class Registry:
    """A connection pool to one registry database, migrated to the current schema."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = _parsed(url).drivername.startswith("sqlite")
        self.file = _sqlite_file(url) if self.is_sqlite else None
        if self.file is not None:
            check_registry_file(self.file)
        self.tables = _schema
        self._quick: Engine | None = None  # see one_statement
        try:
            self.engine = _make_engine(url)
            self._migrate()
        except OperationalError as exc:  # no server there, a folder that does not exist ...
            reason = " ".join(str(exc.orig).split())[:200]
            raise MlnbError(f"cannot open the registry at {_shown(url)} ({reason}): check the registry URL "
                            "(MLNB_REGISTRY_URL or registry_url in .mlnb/config.yaml) and that its database "
                            "server is running") from None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction. On SQLite it takes the write lock up front (BEGIN IMMEDIATE),
        so concurrent writers queue on the busy timeout instead of failing to upgrade a lock.

        A transaction that changed a row bumps the registry's revision as its last statement, so
        the change and the new revision commit together (:meth:`revision`)."""
        with self._damage_named(), self.engine.connect() as conn:
            conn.info["mlnb_write"] = True
            conn.begin()
            try:
                yield conn
                if conn.info.pop(_CHANGED, False):
                    rev = _schema.revision
                    conn.execute(update(rev).where(rev.c.id == 1).values(revision=rev.c.revision + 1))
            except BaseException:
                conn.rollback()
                raise
            finally:
                conn.info.pop("mlnb_write", None)
                conn.info.pop(_CHANGED, None)
            conn.commit()

    def revision(self) -> str:
        """A token that changes with every committed write that changed a row, and only then.

        One primary-key read (on a server, one round trip: :meth:`one_statement`, as the panel
        polls it while runs are written); ``"<instance>-<count>"``, so a registry made again at the
        same place does not repeat an old token."""
        rev = _schema.revision
        query = select(rev.c.instance, rev.c.revision).where(rev.c.id == 1)
        if self.is_sqlite:
            with self.read() as conn:
                row = conn.execute(query).one()
        else:
            (row,) = self.one_statement(query)
        return f"{row.instance}-{row.revision}"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._damage_named(), self.engine.connect() as conn:
            yield conn

    def one_statement(self, statement: Any) -> list[Any]:
        """The rows of one read-only ``statement`` in one round trip to a database server: on a
        pooled connection in autocommit (no BEGIN / ROLLBACK around it) and with no liveness ping
        before it. The statement sees one snapshot, as any single statement does. A pooled
        connection the server has dropped since is replaced and the statement sent again, once."""
        engine = self._quick_engine()
        for attempt in range(2):
            try:
                with self._damage_named(), engine.connect() as conn:
                    return conn.execute(statement).all()
            except DBAPIError as exc:
                if attempt or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def dispose(self) -> None:
        """Close every pooled connection (both pools); connections checked out are closed when
        returned."""
        self.engine.dispose()
        if self._quick is not None:
            self._quick.dispose()

    def _quick_engine(self) -> Engine:
        with _lock:
            if self._quick is None:
                self._quick = create_engine(self.url, isolation_level="AUTOCOMMIT", pool_size=2)
            return self._quick

    @contextmanager
    def _damage_named(self) -> Iterator[None]:
        """SQLite's "malformed" / "not a database" (a damaged file) as one error naming the file."""
        try:
            yield
        except DatabaseError as exc:
            if self.file is None or type(exc.orig) is not sqlite3.DatabaseError:  # not damage: constraints ...
                raise
            raise RegistryDamaged(self.file, f"is damaged ({exc.orig})") from None

    def _migrate(self) -> None:
        meta = _schema.meta
        with self.write() as conn:
            _schema.metadata.create_all(conn, tables=[meta])
            row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).first()
            current = int(row[0]) if row else 0
            for step in _schema.MIGRATIONS[current:]:
                step(conn)
            target = len(_schema.MIGRATIONS)
            if target != current:
                if row:
                    conn.execute(meta.update().where(meta.c.key == "schema_version"), {"value": str(target)})
                else:
                    conn.execute(meta.insert(), {"key": "schema_version", "value": str(target)})


def _shown(url: str) -> str:
    """The URL without its password."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_file(url: str) -> Path | None:
    database = _parsed(url).database
    return Path(database) if database and database != ":memory:" and not database.startswith("file:") else None


def _parsed(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise UsageError("the registry URL (MLNB_REGISTRY_URL or registry_url in .mlnb/config.yaml) is not a "
                         "database URL: use e.g. sqlite:////path/registry.db or postgresql://host/db") from None


def _make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        engine = create_engine(url, pool_pre_ping=True)
        event.listen(engine, "after_cursor_execute", _note_change)
        return engine
    # Let us issue BEGIN ourselves (pysqlite's own transaction handling defers it).
    engine = create_engine(url, connect_args={"timeout": 60, "isolation_level": None})
    event.listen(engine, "after_cursor_execute", _note_change)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("mlnb_write") else "BEGIN")

    return engine


def _note_change(conn: Connection, cursor: Any, statement: str, _params: Any, _context: Any, _many: bool) -> None:
    """Mark the connection changed when an INSERT, UPDATE or DELETE touched a row (or may have:
    a driver that cannot count says -1). Read from the SQL text, so statements sent straight to
    the driver (the metric points' executemany) count too."""
    if statement.lstrip()[:6].upper() in _DML and cursor.rowcount != 0:
        conn.info[_CHANGED] = True


def insert_many(conn: Connection, statement: str, rows: Iterable[Sequence[Any]]) -> None:
    """``rows`` through one INSERT ``statement`` by the driver's own executemany, read lazily (an
    iterator of 10^6 rows is never made into a list first). It counts as a change like any
    statement, and a row the database refuses raises SQLAlchemy's error (IntegrityError ...)."""
    dbapi = conn.dialect.loaded_dbapi
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(statement, rows)
        if cursor.rowcount != 0:
            conn.info[_CHANGED] = True
    except dbapi.Error as exc:
        raise DBAPIError.instance(statement, None, exc, dbapi.Error) from exc
    finally:
        cursor.close()


def copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """``rows`` into ``table`` by PostgreSQL's ``COPY ... FROM STDIN``, in the caller's transaction:
    one statement for the lot, where an INSERT run once a row costs the server an executor start
    and the client a bind each (issue 16 §6: 16 writers on 2 cores). It counts as a change, and a
    row the database refuses raises SQLAlchemy's error (IntegrityError ...), as :func:`insert_many`."""
    dbapi = conn.dialect.loaded_dbapi
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    try:
        with conn.connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    except dbapi.Error as exc:
        raise DBAPIError.instance(sql, None, exc, dbapi.Error) from exc
    conn.info[_CHANGED] = True


def close_registries(url_prefix: str) -> int:
    """Close the open registries whose URL starts with ``url_prefix``: every pooled connection of
    theirs is returned to the server (a long-lived process that worked with many databases — a test
    run — would otherwise keep each one's idle connections). The next use opens it again. Returns
    how many were closed."""
    with _lock:
        gone = [u for u in _registries if u.startswith(url_prefix)]
        for u in gone:
            _registries.pop(u).dispose()
    return len(gone)


def registry(project: Project) -> Registry:
    url = project.registry_url
    with _lock:
        reg = _registries.get(url)
        if reg is None:
            reg = _registries[url] = Registry(url)
        return reg
