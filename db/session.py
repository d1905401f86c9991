"""Engine and session factory, with the SQLite pragmas the embedded default needs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 15_000


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, **kwargs: Any) -> Engine:
    """Create an engine; on SQLite switch on WAL, a busy timeout, foreign keys and immediate writes."""
    if is_sqlite(url):
        if is_sqlite_file(url):
            Path(str(make_url(url).database)).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000}, **kwargs)
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def is_sqlite_file(url: str) -> bool:
    """A SQLite database other connections can open too (not an in-memory one)."""
    database = make_url(url).database
    return is_sqlite(url) and bool(database) and database != ":memory:"


def is_lock_timeout(error: BaseException) -> bool:
    """The database gave up waiting for a lock another connection holds (SQLite or PostgreSQL)."""
    if not isinstance(error, OperationalError):
        return False
    # PostgreSQL: lock_not_available (lock_timeout); SQLite: the busy timeout ran out.
    return getattr(error.orig, "sqlstate", None) == "55P03" or "database is locked" in str(error.orig)


def make_no_wait_engine(url: str) -> Engine | None:
    """An engine whose transactions fail at once, instead of waiting, on a lock another holds.

    None for an in-memory SQLite database, which no second engine can share.
    """
    if is_sqlite(url):
        return make_engine(url, busy_timeout_ms=0) if is_sqlite_file(url) else None
    # lock_timeout 0 would mean "wait for ever": 1 ms is "do not wait".
    return make_engine(url, connect_args={"options": "-c lock_timeout=1"})


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when a transaction begins (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # BEGIN IMMEDIATE takes the write lock up front, so the busy timeout applies; a deferred
        # transaction that upgrades from read to write fails at once with "database is locked".
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine, info: dict[str, Any] | None = None) -> sessionmaker[Session]:
    """Sessions for this engine; `info` (the app's configuration that domain code needs, such as the
    outbox policy) is copied into every session's `session.info`."""
    return sessionmaker(engine, expire_on_commit=False, info=dict(info or {}))


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session
