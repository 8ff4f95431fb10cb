"""The one remote a registry shares through.

What ``sync_records`` says the remote holds is true of one remote only: the first one a push or
pull used, noted in ``mlnb_meta``. A push or pull naming another remote is refused (it would send
only what is new since the last push *there*, and leave that remote with records pointing at
records it never got); ``mlnb sync use REMOTE`` makes another remote the sharing one, and its next
push sends every record there.
"""

from __future__ import annotations

from sqlalchemy import Connection, case, func, select

from ..errors import UsageError
from ..store._schema import meta
from ..store._schema import sync_records as sr
from ._tables import BY_RUN

_KEY = "sync_remote"


def meta_value(conn: Connection, key: str) -> str | None:
    return conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()


def set_meta_value(conn: Connection, key: str, value: str | None) -> None:
    """Set (or with None, remove) one of sync's ``mlnb_meta`` entries."""
    conn.execute(meta.delete().where(meta.c.key == key))
    if value is not None:
        conn.execute(meta.insert().values(key=key, value=value))


def shared_through(conn: Connection) -> str | None:
    """The URL of the sharing remote (None before the first push or pull)."""
    return meta_value(conn, _KEY)


def check(conn: Connection, url: str) -> str | None:
    """Refuse a push or pull through any remote but the sharing one; returns the sharing one."""
    shared = shared_through(conn)
    if shared is not None and shared != url:
        raise UsageError(f"this registry shares its records through {shared}, not {url}: push and pull "
                         "through that remote (-r NAME), or make this one the sharing remote with "
                         "`mlnb sync use NAME` (its next push then sends every record there)")
    return shared


def note(conn: Connection, url: str) -> None:
    """In a push's or pull's write transaction: ``url`` is the sharing remote if none is yet."""
    if shared_through(conn) is None:
        set_meta_value(conn, _KEY, url)


def switch(conn: Connection, url: str) -> int:
    """Make ``url`` the sharing remote: nothing is known to be there, so the next push sends every
    record (numbers keep their claims, records their origin). Returns the records to send."""
    conn.execute(sr.update().values(digest=case((sr.c.tbl == BY_RUN, "0"), else_="")))
    set_meta_value(conn, _KEY, url)
    return conn.execute(select(func.count()).select_from(sr).where(sr.c.tbl != BY_RUN)).scalar() or 0
