"""The delivery worker against a fake channel that can be told to fail, in virtual time."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import threading
from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select, text, update

from chatbot.app import App
from chatbot.broadcast.service import NoticeDraft, create_broadcast
from chatbot.broadcast.targets import NoticeTarget
from chatbot.delivery.collect import CollectingSender
from chatbot.delivery.limits import ChannelLimit
from chatbot.delivery.ports import OutgoingMessage, PermanentFailure, RecipientGone, RetryLater
from chatbot.delivery.worker import DeliveryConfig, Result, Worker, drain_once, serve
from db.models import ChannelIdentity, OutboxMessage, OutboxStatus, Person, Priority
from db.models.broadcast import Broadcast, BroadcastScope
from db.session import transaction
from tests.broadcast.helpers import link, parents_of_school, school_id
from tests.conftest import DemoPeople, make_settings
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
    assert (state[first].status, state[first].last_error) == (
        OutboxStatus.FAILED,
        "recipient gone: Forbidden: bot was blocked by the user",
    )
    assert (state[second].status, state[second].last_error) == (
        OutboxStatus.FAILED,
        "recipient gone (blocked or unsubscribed)",
    )
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


# --- configuration, recovery and the long-running loop ------------------------------------------


def test_config_from_settings_takes_rates_quiet_hours_and_in_flight_from_the_settings() -> None:
    settings = make_settings(
        "sqlite:///unused.db",
        telegram_rate_per_second=25.0,
        telegram_rate_per_chat_per_second=0.5,
        delivery_in_flight=3,
        quiet_hours_start=time(22, 0),
        quiet_hours_end=time(6, 30),
    )
    # The channels' own rate limits are their Senders' (see the channel registry's tests).
    assert DeliveryConfig.from_settings(settings) == DeliveryConfig(
        limits={},
        lanes=2,
        in_flight=3,
        quiet_start=time(22, 0),
        quiet_end=time(6, 30),
    )


def test_config_from_settings_gives_postgresql_more_lanes_and_lets_callers_override() -> None:
    settings = make_settings("postgresql+psycopg://postgres@127.0.0.1:5432/unused")
    assert DeliveryConfig.from_settings(settings).lanes == 4
    custom = DeliveryConfig.from_settings(
        settings, limits={"wechat": ChannelLimit(per_second=5.0)}, lanes=1, in_flight=2, batch_size=10
    )
    assert custom == DeliveryConfig(
        limits={"wechat": ChannelLimit(per_second=5.0)},
        lanes=1,
        in_flight=2,
        batch_size=10,
    )


def stuck_since(app: App, row_ids: list[int], claimed_at: datetime) -> None:
    with transaction(app.session_factory) as s:
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(row_ids))
            .values(status=OutboxStatus.SENDING, claimed_at=claimed_at, attempts=1)
        )


def test_recover_requeues_only_rows_sending_for_longer_than_the_timeout(
    empty_app: App, now: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    identities = make_identities(empty_app.session_factory, 3, "telegram", now)
    old, borderline, done = queue_rows(empty_app.session_factory, identities, "telegram", now)
    # `done` was sent an hour ago: its claim is old, but it is not stuck.
    hour_ago = now - timedelta(hours=1)
    with transaction(empty_app.session_factory) as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.id == done).values(not_before=hour_ago))
    drain_once(empty_app.session_factory, [FakeSender("telegram")], now=hour_ago, recover=False)
    stuck_since(empty_app, [old], now - timedelta(minutes=5, seconds=1))
    stuck_since(empty_app, [borderline], now - timedelta(minutes=5))  # exactly the timeout: not yet
    worker = Worker(empty_app.session_factory, [FakeSender("telegram")], config())
    caplog.clear()
    assert worker.recover(now) == 1
    assert worker.recover(now) == 0
    state = rows(empty_app)
    assert (state[old].status, state[old].attempts, state[old].last_error) == (
        OutboxStatus.QUEUED,
        1,
        "recovered after a worker stopped mid-send",
    )
    assert (state[borderline].status, state[borderline].last_error) == (OutboxStatus.SENDING, None)
    assert state[done].status == OutboxStatus.SENT
    assert [r.getMessage() for r in caplog.records if r.name == "chatbot.delivery.worker"] == [
        "recovered 1 outbox rows stuck in sending"
    ]


class SteppingClock:
    """A minute later at every reading; sets `stop` after `readings` readings (each loop reads it)."""

    def __init__(self, start: datetime, stop: asyncio.Event, readings: int) -> None:
        self.start = start
        self.stop = stop
        self.readings = readings
        self.count = 0

    def __call__(self) -> datetime:
        self.count += 1
        if self.count >= self.readings:
            self.stop.set()
        return self.start + timedelta(minutes=self.count - 1)


async def test_run_recovers_when_it_starts_then_only_every_recover_interval(
    empty_app: App, now: datetime
) -> None:
    identities = make_identities(empty_app.session_factory, 3, "telegram", now)
    stuck, recent, fresh = queue_rows(empty_app.session_factory, identities, "telegram", now)
    stuck_since(empty_app, [stuck], now - timedelta(minutes=10))
    # In sending for 4 minutes when the worker starts: stuck only after the first recovery.
    stuck_since(empty_app, [recent], now - timedelta(minutes=4))
    stop = asyncio.Event()
    clock = SteppingClock(now, stop, readings=20)
    sender = FakeSender("telegram")
    cfg = config(poll_interval=0.0, recover_interval=3600.0)
    await Worker(empty_app.session_factory, [sender], cfg, clock=clock).run(stop)
    assert clock.count >= 20  # it went round the loop many times
    assert sorted(sender.row_ids()) == [stuck, fresh]
    assert rows(empty_app)[recent].status == OutboxStatus.SENDING


async def test_run_recovers_every_time_round_with_a_zero_interval(empty_app: App, now: datetime) -> None:
    identities = make_identities(empty_app.session_factory, 2, "telegram", now)
    stuck, recent = queue_rows(empty_app.session_factory, identities, "telegram", now)
    stuck_since(empty_app, [stuck], now - timedelta(minutes=10))
    stuck_since(empty_app, [recent], now - timedelta(minutes=4))
    stop = asyncio.Event()
    sender = FakeSender("telegram")
    cfg = config(poll_interval=0.0, recover_interval=0.0)
    await Worker(empty_app.session_factory, [sender], cfg, clock=SteppingClock(now, stop, readings=20)).run(
        stop
    )
    assert sorted(sender.row_ids()) == [stuck, recent]
    assert {row.status for row in rows(empty_app).values()} == {OutboxStatus.SENT}


async def test_run_does_nothing_once_stopped(empty_app: App, now: datetime) -> None:
    [identity] = make_identities(empty_app.session_factory, 1, "telegram", now)
    [row_id] = queue_rows(empty_app.session_factory, [identity], "telegram", now)
    stop = asyncio.Event()
    stop.set()
    sender = FakeSender("telegram")
    await Worker(empty_app.session_factory, [sender], config(), clock=lambda: now).run(stop)
    assert sender.sent == []
    assert rows(empty_app)[row_id].status == OutboxStatus.QUEUED


class StoppingSender(FakeSender):
    """Sets `stop` once it has sent `count` messages."""

    def __init__(self, channel: str, stop: asyncio.Event, count: int) -> None:
        super().__init__(channel)
        self.stop = stop
        self.count = count

    async def send(self, message: OutgoingMessage) -> str:
        result = await super().send(message)
        if len(self.sent) >= self.count:
            self.stop.set()
        return result


async def test_serve_runs_one_worker_with_the_apps_clock_and_settings(
    empty_app: App, now: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    # 08:00 in Shanghai, inside these quiet hours (07:00–09:00): only the urgent row goes now.
    app = App(
        make_settings(
            empty_app.settings.database_url, quiet_hours_start=time(7, 0), quiet_hours_end=time(9, 0)
        ),
        clock=lambda: now,
    )
    try:
        chat, other = make_identities(app.session_factory, 2, "telegram", now)
        [urgent] = queue_rows(app.session_factory, [chat], "telegram", now, priority=Priority.URGENT)
        [normal] = queue_rows(app.session_factory, [other], "telegram", now)
        stop = asyncio.Event()
        sender = StoppingSender("telegram", stop, count=1)
        await serve(app, [sender, FakeSender("wechat", numbered=True)], stop)
    finally:
        app.engine.dispose()
    assert sender.row_ids() == [urgent]
    state = rows(empty_app)
    assert (state[urgent].status, state[urgent].sent_at) == (OutboxStatus.SENT, now)
    assert (state[normal].status, state[normal].not_before) == (
        OutboxStatus.QUEUED,
        datetime(2026, 11, 23, 1, 0, tzinfo=UTC),
    )
    assert "delivery worker started for telegram, wechat" in [r.getMessage() for r in caplog.records]


async def test_serve_without_senders_waits_for_stop(
    empty_app: App, now: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    [identity] = make_identities(empty_app.session_factory, 1, "telegram", now)
    [row_id] = queue_rows(empty_app.session_factory, [identity], "telegram", now)
    stop = asyncio.Event()
    waiting = asyncio.create_task(serve(empty_app, [], stop))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiting.done()
    stop.set()
    await waiting
    assert rows(empty_app)[row_id].status == OutboxStatus.QUEUED
    assert "delivery worker: no channel can send; outbox rows wait" in [
        r.getMessage() for r in caplog.records
    ]


async def test_drain_once_also_works_inside_a_running_event_loop(empty_app: App, now: datetime) -> None:
    [identity] = make_identities(empty_app.session_factory, 1, "telegram", now)
    [row_id] = queue_rows(empty_app.session_factory, [identity], "telegram", now)
    sender = FakeSender("telegram")
    assert drain_once(empty_app.session_factory, [sender], now=now).sent == 1
    assert sender.row_ids() == [row_id]
    # A failure in the helper thread reaches the caller.
    crashing = FakeSender("telegram")
    crashing.crash_after.add("chat-0")
    [again] = queue_rows(empty_app.session_factory, [identity], "telegram", now)
    with pytest.raises(Crash):
        drain_once(empty_app.session_factory, [crashing], now=now)
    assert crashing.row_ids() == [again]


def test_drain_once_for_some_accounts_leaves_the_others(empty_app: App, now: datetime) -> None:
    first, second = make_identities(empty_app.session_factory, 2, "telegram", now)
    mine, theirs = queue_rows(empty_app.session_factory, [first, second], "telegram", now)
    sender = FakeSender("telegram")
    assert drain_once(empty_app.session_factory, [sender], now=now, identity_ids={first}).sent == 1
    assert sender.row_ids() == [mine]
    assert rows(empty_app)[theirs].status == OutboxStatus.QUEUED


def test_pushed_buttons_are_remembered_flat_and_only_for_numbered_channels(
    empty_app: App, now: datetime
) -> None:
    wechat, telegram = make_identities(empty_app.session_factory, 2, "wechat", now)
    with transaction(empty_app.session_factory) as s:
        s.execute(update(ChannelIdentity).where(ChannelIdentity.id == telegram).values(channel="telegram"))
    # Rows may hold buttons as rows of buttons or as one flat list.
    flat = [{"label": "收到", "payload": "bcack:1"}, {"label": "不同意", "payload": "bcack:2"}]
    queue_rows(empty_app.session_factory, [wechat], "wechat", now, buttons=flat)
    queue_rows(empty_app.session_factory, [telegram], "telegram", now, buttons=[flat])
    drain_once(
        empty_app.session_factory, [FakeSender("wechat", numbered=True), FakeSender("telegram")], now=now
    )
    with empty_app.session_factory() as s:
        assert s.get(ChannelIdentity, wechat).last_buttons == flat  # type: ignore[union-attr]
        assert s.get(ChannelIdentity, telegram).last_buttons == []  # type: ignore[union-attr]


def test_a_long_failure_reason_is_cut_to_500_characters(empty_app: App, now: datetime) -> None:
    [identity] = make_identities(empty_app.session_factory, 1, "telegram", now)
    [row_id] = queue_rows(empty_app.session_factory, [identity], "telegram", now)
    sender = FakeSender("telegram")
    sender.script["chat-0"] = [PermanentFailure("x" * 600)]
    drain_once(empty_app.session_factory, [sender], now=now)
    assert rows(empty_app)[row_id].last_error == "permanent failure: " + "x" * 481


def test_drain_once_inside_an_event_loop_sends_from_a_named_helper_thread(
    empty_app: App, now: datetime
) -> None:
    [identity] = make_identities(empty_app.session_factory, 1, "telegram", now)
    queue_rows(empty_app.session_factory, [identity], "telegram", now)
    threads: list[str] = []

    class ThreadNoting(FakeSender):
        async def send(self, message: OutgoingMessage) -> str:
            threads.append(threading.current_thread().name)
            return await super().send(message)

    async def main() -> int:
        return drain_once(empty_app.session_factory, [ThreadNoting("telegram")], now=now).sent

    assert asyncio.run(main()) == 1
    assert threads == ["drain-once"]


def school_notice_from_the_principal(app: App, demo: DemoPeople, now: datetime) -> int:
    """The principal's notice to the whole first school, every member linked to a chat; its id."""
    school = school_id(app)
    link(app, [demo.principal, demo.teacher, *parents_of_school(app, school)], now)
    draft = NoticeDraft(NoticeTarget(BroadcastScope.SCHOOL, school), {"zh_Hans": "明天停水"})
    with transaction(app.session_factory) as s:
        principal = s.get(Person, demo.principal)
        assert principal is not None
        return create_broadcast(s, principal, draft, now=now, settings=app.settings).id


def test_after_delivery_hooks_tell_the_sender_of_a_notice_when_it_is_done(
    app: App, demo: DemoPeople, now: datetime
) -> None:
    notice = school_notice_from_the_principal(app, demo, now)
    with app.session_factory() as s:
        recipients = len(
            s.scalars(
                select(OutboxMessage.id).where(
                    OutboxMessage.ref_type == "broadcast", OutboxMessage.ref_id == notice
                )
            ).all()
        )
    assert recipients >= 2
    sender = CollectingSender("console")
    # One row per batch, hooks after every batch: the notice is in progress at first, then done.
    cfg = DeliveryConfig(db_in_thread=False, batch_size=1, hook_interval=0.0)
    report = drain_once(app.session_factory, [sender], now=now, config=cfg)
    assert report.sent == len(sender.sent) > recipients
    to_principal = [m.text for m in sender.sent if m.external_id == f"person-{demo.principal}"]
    # Every recipient has exactly one chat account here: people and accounts are the same number.
    assert to_principal[-1] == (
        f"通知 #{notice}（共 {recipients} 人）发送完毕：已发送 {recipients} / {recipients} 个聊天账号，失败 0。"
    )
    with app.session_factory() as s:
        assert s.get(Broadcast, notice).finished_at == now  # type: ignore[union-attr]


def test_the_last_progress_report_goes_out_in_the_same_drain(
    app: App, demo: DemoPeople, now: datetime
) -> None:
    notice = school_notice_from_the_principal(app, demo, now)
    sender = CollectingSender("console")
    # Hooks at most once an hour while sending: the summary comes from the drain's final pass.
    cfg = DeliveryConfig(db_in_thread=False, hook_interval=3600.0)
    drain_once(app.session_factory, [sender], now=now, config=cfg)
    summaries = [m.text for m in sender.sent if m.kind == "notice_progress"]
    assert (
        len(summaries) == 1 and summaries[0].startswith(f"通知 #{notice}（共 ") and "发送完毕" in summaries[0]
    )


class OutboxOutage:
    """Takes the outbox table away (renames it) and brings it back: every worker query fails meanwhile."""

    def __init__(self, app: App) -> None:
        self.app = app

    def begin(self) -> None:
        with self.app.engine.begin() as connection:
            connection.execute(text("ALTER TABLE outbox RENAME TO outbox_away"))

    def end(self) -> None:
        with self.app.engine.begin() as connection:
            connection.execute(text("ALTER TABLE outbox_away RENAME TO outbox"))


async def test_run_survives_database_failures_and_counts_them_in_a_row(empty_app: App, now: datetime) -> None:
    first_chat, second_chat = make_identities(empty_app.session_factory, 2, "telegram", now)
    [first] = queue_rows(empty_app.session_factory, [first_chat], "telegram", now)
    [second] = queue_rows(
        empty_app.session_factory, [second_chat], "telegram", now, not_before=now + timedelta(minutes=30)
    )
    outage = OutboxOutage(empty_app)
    stop = asyncio.Event()
    failures: list[int] = []

    class Watch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            match = re.fullmatch(
                r"delivery worker: \w+Error; retrying \(failure (-?\d+) in a row\)", record.getMessage()
            )
            if record.levelno < logging.ERROR or match is None:
                return
            failures.append(int(match.group(1)))
            if len(failures) == 2:
                outage.end()  # back after two failed rounds
            elif len(failures) == 3:
                outage.end()
                stop.set()

    class FailingAfterSecondSend(FakeSender):
        async def send(self, message: OutgoingMessage) -> str:
            result = await super().send(message)
            if message.row_id == second:
                outage.begin()  # its outcome cannot be written
            return result

    sender = FailingAfterSecondSend("telegram")
    watch = Watch()
    logger = logging.getLogger("chatbot.delivery.worker")
    logger.addHandler(watch)
    outage.begin()
    try:
        cfg = config(poll_interval=0.0, recover_interval=3600.0)
        # A minute passes at every reading of the clock, so the second row falls due after a while.
        clock = SteppingClock(now, stop, readings=10_000)
        await Worker(empty_app.session_factory, [sender], cfg, clock=clock).run(stop)
    finally:
        logger.removeHandler(watch)
    # Two failed rounds, good rounds (the first row), then one more failure, counted afresh.
    assert failures == [1, 2, 1]
    assert sender.row_ids() == [first, second]
    state = rows(empty_app)
    assert state[first].status == OutboxStatus.SENT
    # Sent but not recorded: left in sending, for a later round's recovery.
    assert (state[second].status, state[second].attempts) == (OutboxStatus.SENDING, 1)


def test_record_tells_the_hooks_about_the_results_refs_by_default(
    app: App, demo: DemoPeople, now: datetime
) -> None:
    notice = school_notice_from_the_principal(app, demo, now)
    worker = Worker(app.session_factory, [CollectingSender("console")], config(), clock=lambda: now)
    claimed = worker.claim(now)
    assert {c.ref_type for c in claimed} == {"broadcast"}
    worker.record([Result(c, "sent", external_message_id=f"c{c.message.row_id}") for c in claimed], now)
    with app.session_factory() as s:
        # The notice's progress was brought up to date in the same transaction.
        assert s.get(Broadcast, notice).progress_at == now  # type: ignore[union-attr]
        sent = s.scalars(select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.SENT)).all()
    assert sorted(sent) == sorted(c.message.row_id for c in claimed)


def test_a_sent_row_keeps_the_platforms_message_id(empty_app: App, now: datetime) -> None:
    [identity] = make_identities(empty_app.session_factory, 1, "telegram", now)
    [row_id] = queue_rows(empty_app.session_factory, [identity], "telegram", now)
    drain_once(empty_app.session_factory, [FakeSender("telegram")], now=now)
    row = rows(empty_app)[row_id]
    assert (row.status, row.external_message_id, row.sent_at) == (OutboxStatus.SENT, f"m{row_id}", now)


def test_an_unknown_send_error_is_retried_and_logged_by_type_only(
    empty_app: App, now: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = make_identities(empty_app.session_factory, 2, "telegram", now)
    unknown, silent = queue_rows(empty_app.session_factory, [first, second], "telegram", now)
    sender = FakeSender("telegram")
    sender.script["chat-0"] = [ValueError("王建国 13912345678")]
    sender.script["chat-1"] = [RetryLater("")]  # a transient fault with no reason given
    caplog.clear()
    drain_once(empty_app.session_factory, [sender], now=now, config=config(backoff_base=5.0))
    state = rows(empty_app)
    assert (state[unknown].status, state[unknown].last_error, state[unknown].not_before) == (
        OutboxStatus.QUEUED,
        "ValueError",
        now + timedelta(seconds=5),
    )
    assert (state[silent].status, state[silent].last_error) == (OutboxStatus.QUEUED, "retry later")
    assert [r.getMessage() for r in caplog.records if r.name == "chatbot.delivery.worker"] == [
        f"send of outbox row {unknown} failed with ValueError"
    ]


async def test_a_send_that_outlasts_the_send_timeout_is_retried(empty_app: App, now: datetime) -> None:
    [identity] = make_identities(empty_app.session_factory, 1, "telegram", now)
    [row_id] = queue_rows(empty_app.session_factory, [identity], "telegram", now)
    vt = VirtualTime(now)
    sender = FakeSender("telegram", clock=vt.monotonic, sleep=vt.sleep)
    sender.delay = 1.0  # the platform does not answer before the (zero) timeout
    await drain_virtual(empty_app, sender, vt, config(send_timeout=0.0))
    assert sender.sent == []
    row = rows(empty_app)[row_id]
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.QUEUED, 1, "timed out")


async def test_run_stops_between_batches_once_stop_is_set(empty_app: App, now: datetime) -> None:
    identities = make_identities(empty_app.session_factory, 3, "telegram", now)
    first, *rest = queue_rows(empty_app.session_factory, identities, "telegram", now)
    stop = asyncio.Event()
    sender = StoppingSender("telegram", stop, count=1)
    cfg = config(batch_size=1, lanes=1, poll_interval=0.0)
    await Worker(empty_app.session_factory, [sender], cfg, clock=lambda: now).run(stop)
    assert sender.row_ids() == [first]
    assert [rows(empty_app)[row_id].status for row_id in rest] == [OutboxStatus.QUEUED] * 2


async def test_an_idle_worker_waits_poll_interval_before_looking_again(empty_app: App, now: datetime) -> None:
    readings: list[datetime] = []

    def clock() -> datetime:
        readings.append(now)
        return now

    stop = asyncio.Event()
    cfg = config(poll_interval=3600.0)
    running = asyncio.create_task(
        Worker(empty_app.session_factory, [FakeSender("telegram")], cfg, clock=clock).run(stop)
    )
    for _ in range(50):
        await asyncio.sleep(0)  # lets the worker go round as often as it would
    # One round: the recovery and one look at the queue, then it waits (an hour) for stop.
    assert len(readings) == 2
    assert not running.done()
    stop.set()
    await running
