"""`Worker.run` backs off after failed rounds: poll_interval doubled per failure in a row, at most 60 s."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from chatbot.app import App
from chatbot.delivery.limits import ChannelLimit
from chatbot.delivery.ports import OutgoingMessage
from chatbot.delivery.worker import DeliveryConfig, Result, Worker
from db.models import ChannelIdentity, OutboxMessage, OutboxStatus, Priority
from db.session import transaction
from tests.delivery.fakes import FakeSender, make_identities, queue_rows


async def test_run_waits_twice_as_long_after_each_failure_up_to_a_minute(
    empty_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    stop = asyncio.Event()
    timeouts: list[float | None] = []
    real_wait_for = asyncio.wait_for

    async def recording_wait_for(aw: Awaitable[Any], timeout: float | None) -> Any:
        timeouts.append(timeout)
        if len(timeouts) == 8:
            stop.set()
        return await real_wait_for(aw, 0)  # times out at once: no real waiting

    def broken_clock() -> datetime:
        raise RuntimeError("clock is down")  # every round fails before it drains

    monkeypatch.setattr(asyncio, "wait_for", recording_wait_for)
    cfg = DeliveryConfig(db_in_thread=False, limits={}, poll_interval=1.0, recover_interval=3600.0)
    await Worker(empty_app.session_factory, [FakeSender("telegram")], cfg, clock=broken_clock).run(stop)
    assert timeouts == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]


def probe_rows(app: App, now: datetime, count: int) -> list[int]:
    """`count` due rows, one per chat, each about ref ("probe", its own id)."""
    row_ids = queue_rows(
        app.session_factory, make_identities(app.session_factory, count, "telegram", now), "telegram", now
    )
    with transaction(app.session_factory) as s:
        for row_id in row_ids:
            s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(ref_type="probe", ref_id=row_id)
            )
    return row_ids


def spy_on_record(worker: Worker) -> list[tuple[list[int], object]]:
    """Each call of worker.record: the row ids recorded and the refs argument as passed."""
    calls: list[tuple[list[int], object]] = []
    real = worker.record

    def record(results: list[Result], now: datetime, refs: object = "not passed") -> None:
        calls.append(([r.claimed.message.row_id for r in results], refs))
        real(results, now, None if refs == "not passed" else refs)  # type: ignore[arg-type]

    worker.record = record  # type: ignore[method-assign]
    return calls


async def test_the_hooks_hear_of_refs_at_most_once_per_hook_interval(empty_app: App, now: datetime) -> None:
    first, second, third = probe_rows(empty_app, now, 3)
    cfg = DeliveryConfig(db_in_thread=False, limits={}, batch_size=1)
    # Monotonic time stands still at 0: the hooks are due at once, then not for another second.
    worker = Worker(
        empty_app.session_factory, [FakeSender("telegram")], cfg, clock=lambda: now, monotonic=lambda: 0.0
    )
    calls = spy_on_record(worker)
    report = await worker.drain()
    assert report.counts == {"sent": 3}
    assert calls == [
        ([first], {"probe": {first}}),
        ([second], {}),
        ([third], {}),
        ([], {"probe": {second, third}}),
    ]


async def test_database_work_runs_on_the_workers_own_threads(empty_app: App, now: datetime) -> None:
    async def thread_names(worker: Worker, parties: int) -> set[str]:
        # With `parties` > 1 each step waits for the others, so they must run on that many threads
        # at once. No step waits for a timeout to pass: under the CI's moved clock (libfaketime) a
        # thread's timed wait may never end.
        started = threading.Barrier(parties, timeout=10)

        def step() -> str:
            if parties > 1:
                started.wait()
            return threading.current_thread().name

        try:
            return set(await asyncio.gather(*(worker._db(step) for _ in range(3))))
        finally:
            worker.close()

    cfg = DeliveryConfig(db_in_thread=True, limits={}, lanes=3)
    sqlite = Worker(empty_app.session_factory, [FakeSender("telegram")], cfg, clock=lambda: now)
    sqlite.skip_locked = False  # as on SQLite, whichever database this suite runs on
    # SQLite has one writer: one thread.
    assert await thread_names(sqlite, 1) == {"delivery-db_0"}
    postgres = Worker(empty_app.session_factory, [FakeSender("telegram")], cfg, clock=lambda: now)
    postgres.skip_locked = True  # as on PostgreSQL: one thread per lane
    assert await thread_names(postgres, 3) == {"delivery-db_0", "delivery-db_1", "delivery-db_2"}


async def test_lanes_with_database_threads_send_side_by_side(empty_app: App, now: datetime) -> None:
    probe_rows(empty_app, now, 2)
    in_flight: list[int] = []
    busy = 0

    class SlowSender(FakeSender):
        async def send(self, message: OutgoingMessage) -> str:
            nonlocal busy
            busy += 1
            in_flight.append(busy)
            await asyncio.sleep(0.05)
            busy -= 1
            return await super().send(message)

    cfg = DeliveryConfig(limits={}, batch_size=1, in_flight=2, lanes=2)
    worker = Worker(empty_app.session_factory, [SlowSender("telegram")], cfg, clock=lambda: now)
    try:
        report = await worker.drain()
    finally:
        worker.close()
    assert report.counts == {"sent": 2}
    assert max(in_flight) == 2  # one lane would send them one after the other


async def test_claims_go_oldest_due_first_and_skip_inactive_chats(empty_app: App, now: datetime) -> None:
    chats = make_identities(empty_app.session_factory, 3, "telegram", now)
    [due_now] = queue_rows(empty_app.session_factory, chats[:1], "telegram", now)
    [due_earlier] = queue_rows(
        empty_app.session_factory, chats[1:2], "telegram", now, not_before=now - timedelta(hours=1)
    )
    [for_inactive] = queue_rows(empty_app.session_factory, chats[2:], "telegram", now)
    with transaction(empty_app.session_factory) as s:
        s.execute(update(ChannelIdentity).where(ChannelIdentity.id == chats[2]).values(active=False))
    sender = FakeSender("telegram")
    worker = Worker(
        empty_app.session_factory,
        [sender],
        DeliveryConfig(db_in_thread=False, limits={}, batch_size=1),
        clock=lambda: now,
    )
    assert [c.message.row_id for c in worker.claim(now, limit=1)] == [due_earlier]
    assert [c.message.row_id for c in worker.claim(now, limit=1)] == [due_now]
    assert worker.claim(now, limit=1) == []
    with empty_app.session_factory() as s:
        assert s.get(OutboxMessage, for_inactive).status == OutboxStatus.QUEUED  # type: ignore[union-attr]


async def test_each_drain_reports_only_its_own_outcomes(empty_app: App, now: datetime) -> None:
    chats = make_identities(empty_app.session_factory, 3, "telegram", now)
    worker = Worker(
        empty_app.session_factory,
        [FakeSender("telegram")],
        DeliveryConfig(db_in_thread=False, limits={}),
        clock=lambda: now,
    )
    queue_rows(empty_app.session_factory, chats[:2], "telegram", now)
    assert (await worker.drain()).counts == {"sent": 2}
    queue_rows(empty_app.session_factory, chats[2:], "telegram", now)
    assert (await worker.drain()).counts == {"sent": 1}
    assert worker.totals == {"sent": 3}


async def test_claim_holds_every_row_in_quiet_hours_and_passes_on_edit_and_last_inbound(
    empty_app: App, now: datetime
) -> None:
    chats = make_identities(empty_app.session_factory, 3, "telegram", now)
    urgent = queue_rows(empty_app.session_factory, chats[:1], "telegram", now, priority=Priority.URGENT)[0]
    normal = queue_rows(empty_app.session_factory, chats[1:], "telegram", now)
    with transaction(empty_app.session_factory) as s:
        s.execute(
            update(OutboxMessage).where(OutboxMessage.id == urgent).values(edit_external_message_id="m7")
        )
        s.execute(
            update(ChannelIdentity)
            .where(ChannelIdentity.id == chats[0])
            .values(last_inbound_at=now - timedelta(minutes=5))
        )
    # 08:00 in Shanghai, inside quiet hours 07:00-09:00: only the urgent row goes now.
    cfg = DeliveryConfig(db_in_thread=False, limits={}, quiet_start=time(7, 0), quiet_end=time(9, 0))
    worker = Worker(empty_app.session_factory, [FakeSender("telegram")], cfg, clock=lambda: now)
    [claimed] = worker.claim(now)
    assert claimed.message.row_id == urgent
    assert claimed.message.edit_external_message_id == "m7"
    assert claimed.message.last_inbound_at == now - timedelta(minutes=5)
    assert worker.totals == {"held": 2}
    with empty_app.session_factory() as s:
        held = {
            row.id: (row.status, row.not_before)
            for row in s.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(normal)))
        }
    assert held == {row_id: (OutboxStatus.QUEUED, now + timedelta(hours=1)) for row_id in normal}
    # A later claim holds one more: the count adds up.
    queue_rows(empty_app.session_factory, chats[1:2], "telegram", now)
    assert worker.claim(now) == []
    assert worker.totals == {"held": 3}


@pytest.mark.parametrize(
    ("rates", "batch_seconds", "expected"),
    [
        ({"telegram": 30.0, "wechat": 20.0}, 2.0, 100),  # both paced: what they send in batch_seconds
        ({"telegram": 30.0, "wechat": 0.0}, 2.0, 60),  # a rate of 0 adds nothing
        ({"telegram": 3.0, "wechat": 2.0}, 1.0, 10),  # never fewer than 10
        ({"telegram": 300.0, "wechat": 500.0}, 2.0, 1000),  # never more than batch_size
        ({"telegram": 30.0, "wechat": None}, 2.0, 1000),  # one unpaced channel: batch_size
    ],
)
def test_the_batch_is_what_the_paced_channels_send_in_batch_seconds(
    empty_app: App, now: datetime, rates: dict[str, float | None], batch_seconds: float, expected: int
) -> None:
    cfg = DeliveryConfig(
        db_in_thread=False,
        limits={code: ChannelLimit(per_second=rate) for code, rate in rates.items()},
        batch_size=1000,
        batch_seconds=batch_seconds,
    )
    senders = [FakeSender(code) for code in rates]
    assert Worker(empty_app.session_factory, senders, cfg, clock=lambda: now).batch_limit == expected
    assert Worker(empty_app.session_factory, [], cfg, clock=lambda: now).batch_limit == 1000
