"""PostgreSQL-only paths of the outbox and the worker, pinned down.

- `enqueue_many` writes with COPY on PostgreSQL (no INSERT), and `_copy_rows` fills a required
  column the rows lack from its scalar default, or declines (returns False, writes nothing) when
  the default is not a plain value, so the caller can INSERT instead.
- `Worker.claim` takes rows in (priority, not_before, id) order, skips outbox rows another
  connection has locked instead of waiting, and locks only the outbox rows, not the chats'
  identity rows it joins.
- On PostgreSQL the worker runs database work on at most one thread per lane.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from chatbot.app import App
from chatbot.delivery.outbox import OutboxItem, _copy_rows, enqueue_many
from chatbot.delivery.worker import DeliveryConfig, Worker
from db.models import ChannelIdentity, OutboxMessage, OutboxStatus, Priority
from db.session import make_engine, make_session_factory, transaction
from tests.conftest import PG_URL
from tests.delivery.fakes import FakeSender, make_identities, queue_rows
from tests.delivery.test_outbox import (  # noqa: F401  (fixtures)
    URUMQI_9PM,
    People,
    expected_bulk_rows,
    people,
    policy_app,
    render,
    stored,
)

ONLY_PG = pytest.mark.skipif(not PG_URL, reason="COPY and FOR UPDATE SKIP LOCKED run only on PostgreSQL")


def record_statements(engine: Engine) -> list[str]:
    """Every statement SQLAlchemy sends through `engine` from now on (COPY bypasses it)."""
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    return statements


# --- outbox: COPY ------------------------------------------------------------------------------


@ONLY_PG
def test_enqueue_many_copies_the_rows_instead_of_inserting_them(policy_app: App, people: People) -> None:  # noqa: F811
    item = OutboxItem(
        person_id=people.wang,
        render=render,
        kind="notice",
        dedupe_key="notice:7",
        tz="Asia/Urumqi",
        priority=Priority.BULK,
        ref=("broadcast", 7),
    )
    statements = record_statements(policy_app.engine)
    with transaction(policy_app.session_factory) as s:
        assert enqueue_many(s, [item], URUMQI_9PM) == 2
    assert [sql for sql in statements if "INSERT" in sql.upper()] == []
    assert stored(policy_app) == expected_bulk_rows(people, "notice:7")


def bare_rows(identity_id: int, now: datetime, count: int) -> list[dict[str, Any]]:
    """Rows with only the columns that have no default (and no person)."""
    return [
        {
            "identity_id": identity_id,
            "channel": "telegram",
            "kind": "test",
            "text": f"bare {n}",
            "buttons": [["b"]],
            "not_before": now,
            "created_at": now,
        }
        for n in range(count)
    ]


@ONLY_PG
def test_copy_fills_required_columns_the_rows_lack_from_their_scalar_defaults(
    empty_app: App, now: datetime
) -> None:
    [identity] = make_identities(empty_app.session_factory, 1, "telegram", now)
    with transaction(empty_app.session_factory) as s:
        assert _copy_rows(s, bare_rows(identity, now, 2)) is True
    with empty_app.session_factory() as s:
        rows = s.execute(
            select(
                OutboxMessage.identity_id,
                OutboxMessage.person_id,
                OutboxMessage.text,
                OutboxMessage.buttons,
                OutboxMessage.priority,
                OutboxMessage.status,
                OutboxMessage.attempts,
                OutboxMessage.tz,
                OutboxMessage.not_before,
                OutboxMessage.created_at,
                OutboxMessage.dedupe_key,
            ).order_by(OutboxMessage.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        (identity, None, f"bare {n}", [["b"]], 10, OutboxStatus.QUEUED, 0, "Asia/Shanghai", now, now, None)
        for n in range(2)
    ]


@ONLY_PG
def test_copy_declines_rows_lacking_a_column_whose_default_is_not_a_plain_value(
    empty_app: App, now: datetime
) -> None:
    [identity] = make_identities(empty_app.session_factory, 1, "telegram", now)
    rows = bare_rows(identity, now, 1)
    del rows[0]["buttons"]  # default=list: a callable, which COPY cannot run
    with transaction(empty_app.session_factory) as s:
        assert _copy_rows(s, rows) is False
    with empty_app.session_factory() as s:
        assert s.scalars(select(OutboxMessage.id)).all() == []


# --- worker: claim -----------------------------------------------------------------------------


def worker_for(factory: sessionmaker[Session], now: datetime) -> Worker:
    cfg = DeliveryConfig(db_in_thread=False, limits={})
    return Worker(factory, [FakeSender("telegram")], cfg, clock=lambda: now)


@pytest.fixture
def waiting_app(empty_app: App) -> Iterator[sessionmaker[Session]]:
    """Sessions on the same database that give up after 2 s waiting for a lock, instead of hanging."""
    url = empty_app.settings.database_url
    engine = (
        make_engine(url, connect_args={"options": "-c lock_timeout=2000"}) if PG_URL else make_engine(url)
    )
    yield make_session_factory(engine)
    engine.dispose()


@ONLY_PG
def test_claim_breaks_ties_by_id_whatever_the_rows_physical_order(empty_app: App, now: datetime) -> None:
    identities = make_identities(empty_app.session_factory, 3, "telegram", now)
    first, second, third = queue_rows(empty_app.session_factory, identities, "telegram", now)
    # Same priority and due time for all three. Moving the first row out of the index and back
    # writes a new version of it after the others, so a scan meets it last.
    for status in (OutboxStatus.CANCELLED, OutboxStatus.QUEUED):
        with transaction(empty_app.session_factory) as s:
            s.execute(update(OutboxMessage).where(OutboxMessage.id == first).values(status=status))
    with transaction(empty_app.session_factory) as s:
        # Statistics that show small tables: PostgreSQL then scans and sorts (by the ORDER BY
        # alone) instead of walking ix_outbox_drain, whose order has the id in it anyway.
        s.execute(text("ANALYZE outbox, channel_identity"))
    worker = worker_for(empty_app.session_factory, now)
    assert [c.message.row_id for c in worker.claim(now)] == [first, second, third]


@ONLY_PG
def test_claim_skips_rows_another_worker_holds_instead_of_waiting(
    empty_app: App, waiting_app: sessionmaker[Session], now: datetime
) -> None:
    identities = make_identities(empty_app.session_factory, 3, "telegram", now)
    first, second, third = queue_rows(empty_app.session_factory, identities, "telegram", now)
    worker = worker_for(waiting_app, now)
    with empty_app.engine.connect() as other, other.begin():
        other.execute(select(OutboxMessage.id).where(OutboxMessage.id == first).with_for_update())
        assert [c.message.row_id for c in worker.claim(now)] == [second, third]
    with empty_app.session_factory() as s:
        assert s.execute(select(OutboxMessage.id, OutboxMessage.status).order_by(OutboxMessage.id)).all() == [
            (first, OutboxStatus.QUEUED),
            (second, OutboxStatus.SENDING),
            (third, OutboxStatus.SENDING),
        ]


@ONLY_PG
def test_claim_locks_no_chat_rows_so_a_chat_busy_elsewhere_still_gets_its_messages(
    empty_app: App, waiting_app: sessionmaker[Session], now: datetime
) -> None:
    identities = make_identities(empty_app.session_factory, 2, "telegram", now)
    first, second = queue_rows(empty_app.session_factory, identities, "telegram", now)
    worker = worker_for(waiting_app, now)
    with empty_app.engine.connect() as other, other.begin():
        # As the router does while it handles an inbound message from the first chat.
        other.execute(select(ChannelIdentity.id).where(ChannelIdentity.id == identities[0]).with_for_update())
        assert [c.message.row_id for c in worker.claim(now)] == [first, second]


@ONLY_PG
def test_claim_locks_only_the_outbox_rows(empty_app: App, now: datetime) -> None:
    worker = worker_for(empty_app.session_factory, now)
    statements = record_statements(empty_app.engine)
    queue_rows(
        empty_app.session_factory,
        make_identities(empty_app.session_factory, 1, "telegram", now),
        "telegram",
        now,
    )
    worker.claim(now)
    [claim] = [sql for sql in statements if "FOR UPDATE" in sql]
    assert claim.endswith("FOR UPDATE OF outbox SKIP LOCKED")


# --- worker: database threads ------------------------------------------------------------------


async def test_database_work_uses_no_more_threads_than_lanes(empty_app: App, now: datetime) -> None:
    cfg = DeliveryConfig(db_in_thread=True, limits={}, lanes=2)
    worker = Worker(empty_app.session_factory, [FakeSender("telegram")], cfg, clock=lambda: now)
    worker.skip_locked = True  # as on PostgreSQL, whichever database this suite runs on
    go = threading.Event()

    def step() -> str:
        go.wait()  # no timeout: the event is set below whatever happens
        return threading.current_thread().name

    try:
        steps = [asyncio.ensure_future(worker._db(step)) for _ in range(4)]
        # Each task hands its step to the pool on its first run, before this one resumes; a pool
        # that may grow past two threads starts one per blocked step.
        await asyncio.sleep(0)
    finally:
        go.set()
    try:
        names = await asyncio.gather(*steps)
    finally:
        worker.close()
    assert set(names) == {"delivery-db_0", "delivery-db_1"}
