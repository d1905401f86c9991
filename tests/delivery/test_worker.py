"""The delivery worker against a fake channel that can be told to fail, in virtual time."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.delivery.limits import ChannelLimit
from chatbot.delivery.ports import PermanentFailure, RecipientGone, RetryLater
from chatbot.delivery.worker import DeliveryConfig, Worker, drain_once
from db.models import ChannelIdentity, OutboxMessage, OutboxStatus, Priority
from tests.delivery.fakes import Crash, FakeSender, VirtualTime, make_identities, queue_rows


def config(**overrides: object) -> DeliveryConfig:
    values: dict[str, object] = {"db_in_thread": False, "limits": {}}
    values.update(overrides)
    return DeliveryConfig(**values)  # type: ignore[arg-type]


async def drain_virtual(app: App, sender: FakeSender, vt: VirtualTime, cfg: DeliveryConfig) -> Worker:
    worker = Worker(app.session_factory, [sender], cfg, clock=vt.now, monotonic=vt.monotonic, sleep=vt.sleep)
    driver = asyncio.create_task(vt.run())
    try:
        await worker.drain()
    finally:
        driver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await driver
    return worker


def rows(app: App) -> dict[int, OutboxMessage]:
    with app.session_factory() as s:
        return {row.id: row for row in s.scalars(select(OutboxMessage))}


@pytest.mark.parametrize(
    ("limit", "chats", "per_chat_messages"),
    [
        (ChannelLimit(per_second=10), 40, 1),  # overall pace
        (ChannelLimit(per_second=100, per_chat_per_second=1), 2, 5),  # one busy chat at 1/s
    ],
)
async def test_rate_limits_are_respected(
    empty_app: App, now: datetime, limit, chats, per_chat_messages
) -> None:  # type: ignore[no-untyped-def]
    identities = make_identities(empty_app.session_factory, chats, "telegram", now)
    for _ in range(per_chat_messages):
        queue_rows(empty_app.session_factory, identities, "telegram", now)
    vt = VirtualTime(now)
    sender = FakeSender("telegram", clock=vt.monotonic)
    cfg = config(limits={"telegram": limit}, max_chat_hold=10.0)
    await drain_virtual(empty_app, sender, vt, cfg)

    assert len(sender.sent) == chats * per_chat_messages
    times = sorted(s.at for s in sender.sent)
    if limit.per_second:
        n = int(limit.per_second)
        # In any window shorter than a second, at most `per_second` messages.
        assert all(times[i + n] - times[i] >= 1.0 - 1e-9 for i in range(len(times) - n))
    if limit.per_chat_per_second:
        by_chat: dict[str, list[float]] = {}
        for s in sender.sent:
            by_chat.setdefault(s.external_id, []).append(s.at)
        for chat_times in by_chat.values():
            gaps = [b - a for a, b in itertools.pairwise(chat_times)]
            assert all(gap >= 1.0 - 1e-9 for gap in gaps)


async def test_retry_after_is_honoured_for_the_row_and_the_channel(empty_app: App, now: datetime) -> None:
    identities = make_identities(empty_app.session_factory, 3, "telegram", now)
    ids = queue_rows(empty_app.session_factory, identities, "telegram", now)
    vt = VirtualTime(now)
    sender = FakeSender("telegram", clock=vt.monotonic)
    sender.script["chat-0"] = [RetryLater("429 Too Many Requests", retry_after=7)]
    cfg = config(limits={"telegram": ChannelLimit(per_second=10)}, lanes=1, batch_size=10)
    await drain_virtual(empty_app, sender, vt, cfg)

    # The whole channel paused: nothing went out in the 7 seconds after the 429 ...
    assert min(s.at for s in sender.sent) >= 7.0
    # ... and the refused row went again once its retry_after had passed, as a second attempt.
    first = rows(empty_app)[ids[0]]
    assert (first.status, first.attempts, first.last_error) == (OutboxStatus.SENT, 2, None)
    assert next(s.at for s in sender.sent if s.row_id == ids[0]) >= 7.0


def test_a_row_refused_with_retry_after_is_not_due_before_it(empty_app: App, now: datetime) -> None:
    [identity] = make_identities(empty_app.session_factory, 1, "telegram", now)
    [row_id] = queue_rows(empty_app.session_factory, [identity], "telegram", now)
    sender = FakeSender("telegram")
    sender.script["chat-0"] = [RetryLater("429 Too Many Requests", retry_after=7)]
    assert drain_once(empty_app.session_factory, [sender], now=now, config=config()).sent == 0
    row = rows(empty_app)[row_id]
    assert (row.status, row.attempts) == (OutboxStatus.QUEUED, 1)
    assert "429" in (row.last_error or "")
    assert row.not_before == now + timedelta(seconds=7)
    assert (
        drain_once(empty_app.session_factory, [sender], now=row.not_before - timedelta(seconds=1)).sent == 0
    )
    assert drain_once(empty_app.session_factory, [sender], now=row.not_before).sent == 1
    assert rows(empty_app)[row_id].status == OutboxStatus.SENT


async def test_transient_errors_back_off_then_fail_with_the_reason(empty_app: App, now: datetime) -> None:
    [identity] = make_identities(empty_app.session_factory, 1, "telegram", now)
    [row_id] = queue_rows(empty_app.session_factory, [identity], "telegram", now)
    sender = FakeSender("telegram")
    sender.script["chat-0"] = [RetryLater("502 Bad Gateway") for _ in range(3)]
    cfg = config(max_attempts=3, backoff_base=5.0)
    moment = now
    delays = []
    for _ in range(3):
        drain_once(empty_app.session_factory, [sender], now=moment, config=cfg)
        row = rows(empty_app)[row_id]
        if row.status == OutboxStatus.QUEUED:
            delays.append((row.not_before - moment).total_seconds())
            moment = row.not_before
    assert delays == [5.0, 10.0]
    row = rows(empty_app)[row_id]
    assert row.status == OutboxStatus.FAILED
    assert row.last_error == "gave up after 3 attempts: 502 Bad Gateway"
    assert sender.sent == []


def test_a_blocked_recipient_is_marked_inactive_and_never_retried(empty_app: App, now: datetime) -> None:
    blocked, other = make_identities(empty_app.session_factory, 2, "telegram", now)
    first, second = queue_rows(empty_app.session_factory, [blocked, blocked], "telegram", now)
    [fine] = queue_rows(empty_app.session_factory, [other], "telegram", now)
    sender = FakeSender("telegram")
    sender.script["chat-0"] = [RecipientGone("Forbidden: bot was blocked by the user")]
    drain_once(empty_app.session_factory, [sender], now=now, config=config(batch_size=1))
    state = rows(empty_app)
    assert state[first].status == OutboxStatus.FAILED
    assert "blocked" in (state[first].last_error or "")
    assert state[second].status == OutboxStatus.FAILED
    assert state[fine].status == OutboxStatus.SENT
    assert sender.attempts == 2
    with empty_app.session_factory() as s:
        assert s.get(ChannelIdentity, blocked).active is False  # type: ignore[union-attr]
    assert drain_once(empty_app.session_factory, [sender], now=now + timedelta(days=1)).claimed == 0


def test_a_permanent_failure_fails_without_retry(empty_app: App, now: datetime) -> None:
    [identity] = make_identities(empty_app.session_factory, 1, "telegram", now)
    [row_id] = queue_rows(empty_app.session_factory, [identity], "telegram", now)
    sender = FakeSender("telegram")
    sender.script["chat-0"] = [PermanentFailure("Bad Request: chat not found")]
    drain_once(empty_app.session_factory, [sender], now=now)
    row = rows(empty_app)[row_id]
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 1)
    assert row.last_error == "permanent failure: Bad Request: chat not found"


def test_quiet_hours_hold_normal_rows_but_not_urgent_ones(empty_app: App) -> None:
    late = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai
    normal_id, urgent_id = make_identities(empty_app.session_factory, 2, "telegram", late)
    [normal] = queue_rows(empty_app.session_factory, [normal_id], "telegram", late - timedelta(hours=2))
    [urgent] = queue_rows(empty_app.session_factory, [urgent_id], "telegram", late, priority=Priority.URGENT)
    sender = FakeSender("telegram")
    drain_once(empty_app.session_factory, [sender], now=late)
    assert sender.row_ids() == [urgent]
    held = rows(empty_app)[normal]
    assert held.status == OutboxStatus.QUEUED
    assert held.attempts == 0
    assert held.not_before == datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # 07:00 next morning
    assert drain_once(empty_app.session_factory, [sender], now=held.not_before).sent == 1


def test_urgent_rows_go_before_bulk_ones(empty_app: App, now: datetime) -> None:
    identities = make_identities(empty_app.session_factory, 4, "telegram", now)
    bulk = queue_rows(empty_app.session_factory, identities[:3], "telegram", now, priority=Priority.BULK)
    urgent = queue_rows(empty_app.session_factory, identities[3:], "telegram", now, priority=Priority.URGENT)
    sender = FakeSender("telegram")
    drain_once(empty_app.session_factory, [sender], now=now, config=config(batch_size=1))
    assert sender.row_ids() == urgent + bulk


def test_a_crash_between_send_and_mark_loses_nothing_and_duplicates_at_most_once(
    empty_app: App, now: datetime
) -> None:
    identities = make_identities(empty_app.session_factory, 6, "telegram", now)
    ids = queue_rows(empty_app.session_factory, identities, "telegram", now)
    sender = FakeSender("telegram")
    sender.crash_after.add("chat-1")  # the process dies right after the platform took chat-1's message
    cfg = config(batch_size=3)
    with pytest.raises(Crash):
        drain_once(empty_app.session_factory, [sender], now=now, config=cfg)
    state = rows(empty_app)
    # chat-0's outcome was written before chat-1's send began; chat-2 was claimed but never tried.
    assert state[ids[0]].status == OutboxStatus.SENT
    stuck = [r.id for r in state.values() if r.status == OutboxStatus.SENDING]
    assert stuck == ids[1:3]
    # A restart soon after leaves the in-flight rows alone (their worker may still be alive) ...
    drain_once(empty_app.session_factory, [sender], now=now + timedelta(minutes=1), config=cfg)
    assert {r.status for r in rows(empty_app).values() if r.id in stuck} == {OutboxStatus.SENDING}
    # ... and recovers them once they have been stuck longer than the timeout.
    drain_once(empty_app.session_factory, [sender], now=now + timedelta(minutes=6), config=cfg)
    assert {r.status for r in rows(empty_app).values()} == {OutboxStatus.SENT}
    counts = Counter(sender.row_ids())
    assert set(counts) == set(ids)  # nothing lost
    assert sum(counts.values()) - len(ids) == 1  # one crash, one duplicate: chat-1's message


@pytest.mark.parametrize("in_flight", [1, 3])
async def test_a_crash_duplicates_at_most_in_flight_messages(
    empty_app: App, now: datetime, in_flight: int
) -> None:
    identities = make_identities(empty_app.session_factory, 40, "telegram", now)
    queue_rows(empty_app.session_factory, identities, "telegram", now)
    vt = VirtualTime(now)
    sender = FakeSender("telegram", clock=vt.monotonic, sleep=vt.sleep)
    sender.delay = 0.5  # a slow platform, so sends overlap when they may
    sender.crash_after.add("chat-17")
    cfg = config(limits={}, batch_size=40, in_flight=in_flight)
    with pytest.raises(Crash):
        await drain_virtual(empty_app, sender, vt, cfg)
    state = rows(empty_app)
    sent_unrecorded = [i for i in sender.row_ids() if state[i].status != OutboxStatus.SENT]
    # Exactly what a restart would send again: never more than `in_flight` messages.
    assert 1 <= len(sent_unrecorded) <= in_flight
    assert [s.at for s in sender.sent][:in_flight] == [0.5] * in_flight  # the places were used


def test_two_workers_never_send_the_same_row_twice(empty_app: App, now: datetime) -> None:
    identities = make_identities(empty_app.session_factory, 300, "telegram", now)
    ids = queue_rows(empty_app.session_factory, identities, "telegram", now)
    ids += queue_rows(empty_app.session_factory, identities, "telegram", now)
    sender = FakeSender("telegram")
    # PostgreSQL: SKIP LOCKED. SQLite: BEGIN IMMEDIATE makes each claim's select-and-mark atomic.
    cfg = DeliveryConfig(limits={}, batch_size=7, lanes=2, db_in_thread=True)
    barrier = threading.Barrier(2)
    reports = []

    def work() -> None:
        async def main() -> None:
            barrier.wait()
            worker = Worker(empty_app.session_factory, [sender], cfg, clock=lambda: now)
            reports.append(await worker.drain())

        asyncio.run(main())

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = Counter(sender.row_ids())
    assert sorted(counts) == sorted(ids)
    assert max(counts.values()) == 1
    assert all(report.sent > 0 for report in reports)  # both really worked
    assert {r.status for r in rows(empty_app).values()} == {OutboxStatus.SENT}


def test_numbered_channels_remember_pushed_buttons(empty_app: App, now: datetime) -> None:
    [identity] = make_identities(empty_app.session_factory, 1, "wechat", now)
    buttons = [[{"label": "收到", "payload": "bcack:1"}]]
    queue_rows(empty_app.session_factory, [identity], "wechat", now, buttons=buttons)
    sender = FakeSender("wechat", numbered=True)
    drain_once(empty_app.session_factory, [sender], now=now)
    with empty_app.session_factory() as s:
        assert s.get(ChannelIdentity, identity).last_buttons == [{"label": "收到", "payload": "bcack:1"}]  # type: ignore[union-attr]


def test_rows_for_channels_without_a_sender_wait(empty_app: App, now: datetime) -> None:
    [identity] = make_identities(empty_app.session_factory, 1, "wechat", now)
    [row_id] = queue_rows(empty_app.session_factory, [identity], "wechat", now)
    assert drain_once(empty_app.session_factory, [FakeSender("telegram")], now=now).claimed == 0
    assert rows(empty_app)[row_id].status == OutboxStatus.QUEUED


async def test_a_busy_chat_is_deferred_instead_of_stalling_the_batch(empty_app: App, now: datetime) -> None:
    [busy] = make_identities(empty_app.session_factory, 1, "telegram", now)
    ids = queue_rows(empty_app.session_factory, [busy] * 5, "telegram", now)
    vt = VirtualTime(now)
    sender = FakeSender("telegram", clock=vt.monotonic)
    cfg = config(limits={"telegram": ChannelLimit(per_chat_per_second=1)}, max_chat_hold=2.0, lanes=1)
    await drain_virtual(empty_app, sender, vt, cfg)
    assert [s.at for s in sender.sent] == [0.0, 1.0, 2.0]
    state = rows(empty_app)
    for row_id in ids[3:]:
        row = state[row_id]
        # Not tried (no attempt used), and not due before the chat's next free slot at 3 s.
        assert (row.status, row.attempts) == (OutboxStatus.QUEUED, 0)
        assert row.not_before >= now + timedelta(seconds=3)
