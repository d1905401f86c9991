"""The scheduler: daily close at the cutoff, roll-call nudges, escalation, catch-up, restarts,
and exactly-once with two schedulers on PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from chatbot.app import App
from chatbot.attendance import schedule
from chatbot.reminders import engine
from chatbot.reminders.engine import queue_due
from chatbot.scheduler import LeaderLock, run_jobs, serve
from db.models import OutboxMessage, School
from db.models.calendar import ReminderSent, ReminderStatus
from db.session import transaction
from tests.reminders.conftest import local

GRACE = timedelta(hours=6)


class Calls:
    def __init__(self) -> None:
        self.close: list[tuple[date, tuple[int, ...]]] = []
        self.nudge: list[tuple[int, ...]] = []
        self.escalate: list[date] = []


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Calls:
    calls = Calls()

    def close_day(session: Any, day: date, now: datetime, school_ids: Any = None) -> None:
        calls.close.append((day, tuple(sorted(school_ids or ()))))

    def nudge(session: Any, now: datetime, school_ids: Any = None) -> None:
        calls.nudge.append(tuple(sorted(school_ids or ())))

    def escalate_cases(session: Any, today: date, now: datetime) -> None:
        calls.escalate.append(today)

    monkeypatch.setattr(schedule, "close_day", close_day)
    monkeypatch.setattr(schedule, "nudge_missing_rollcalls", nudge)
    monkeypatch.setattr(schedule, "escalate_cases", escalate_cases)
    return calls


def school_ids(app: App) -> tuple[int, ...]:
    with app.session_factory() as s:
        return tuple(s.scalars(select(School.id).order_by(School.id)))


JOBS = ("daily_close", "nudges")


CALENDAR_CASES = [
    ([local(2026, 11, 23, 9, 40)], [], 1, "30 minutes before the 10:00 cutoff: nudge, no close"),
    (
        [local(2026, 11, 23, 9, 40), local(2026, 11, 23, 9, 45)],
        [],
        1,
        "nudged once however often it ticks",
    ),
    ([local(2026, 11, 23, 10, 1)], [date(2026, 11, 23)], 0, "after the cutoff: close"),
    ([local(2026, 11, 23, 10, 1), local(2026, 11, 23, 10, 2)], [date(2026, 11, 23)], 0, "closed once"),
    ([local(2026, 11, 23, 14, 0)], [date(2026, 11, 23)], 0, "down over the cutoff: closes late today"),
    ([local(2026, 10, 1, 9, 40), local(2026, 10, 1, 10, 5)], [], 0, "National Day: nothing"),
    ([local(2026, 11, 21, 10, 5)], [], 0, "ordinary Saturday: nothing"),
    (
        [local(2026, 10, 8, 9, 40), local(2026, 10, 8, 10, 5)],
        [date(2026, 10, 8)],
        1,
        "day after the long break",
    ),
    (
        [local(2026, 10, 10, 9, 40), local(2026, 10, 10, 10, 5)],
        [date(2026, 10, 10)],
        1,
        "make-up Saturday",
    ),
    ([local(2027, 1, 20, 10, 5)], [], 0, "winter vacation"),
]


def test_daily_close_and_nudges_follow_the_school_calendar(app: App, fakes: Calls) -> None:
    # One database for the table: the ledger and the recorded calls are reset between cases.
    for moments, closed_days, nudges, why in CALENDAR_CASES:
        with transaction(app.session_factory) as s:
            s.execute(delete(ReminderSent))
        fakes.close.clear()
        fakes.nudge.clear()
        for moment in moments:
            run_jobs(app, moment, only=JOBS)
        assert [day for day, _ids in fakes.close] == closed_days, why
        assert all(ids == school_ids(app) for _day, ids in fakes.close), why
        assert len(fakes.nudge) == nudges, why
        assert all(ids == school_ids(app) for ids in fakes.nudge), why


def test_a_close_missed_beyond_the_grace_window_is_recorded_not_run(app: App, fakes: Calls) -> None:
    run_jobs(app, local(2026, 11, 24, 9, 0), only=("daily_close",))  # Monday's cutoff was 23 hours ago
    assert fakes.close == []
    with app.session_factory() as s:
        statuses = set(s.scalars(select(ReminderSent.status).where(ReminderSent.rule == "close_day")))
    assert statuses == {ReminderStatus.MISSED}


def test_escalation_runs_once_a_day_from_eight(app: App, fakes: Calls) -> None:
    for moment in (local(2026, 11, 23, 7, 50), local(2026, 11, 23, 8, 0), local(2026, 11, 23, 8, 10)):
        run_jobs(app, moment, only=("escalation",))
    run_jobs(app, local(2026, 11, 24, 15, 0), only=("escalation",))
    assert fakes.escalate == [date(2026, 11, 23), date(2026, 11, 24)]


def test_real_attendance_jobs_are_wired(app: App, demo, console) -> None:  # type: ignore[no-untyped-def]
    console.external_id(demo.teacher)
    reports = run_jobs(app, local(2026, 11, 23, 9, 40), only=JOBS)
    assert reports["nudges"].ran == len(school_ids(app))
    assert console.pushed(demo.teacher, now=local(2026, 11, 23, 9, 41)), "the class teacher was nudged"
    reports = run_jobs(app, local(2026, 11, 23, 10, 5), only=JOBS)
    assert reports["daily_close"].ran == len(school_ids(app))


def test_restart_in_the_middle_of_a_due_window(
    app: App, demo, console, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    for person_id in (demo.parent, demo.teacher):
        console.external_id(person_id)
    due = local(2027, 2, 15, 18, 30)
    real = engine.enqueue_batch
    count = {"n": 0}

    def crash_once(*args: Any, **kwargs: Any) -> Any:
        count["n"] += 1
        if count["n"] == 1:
            raise RuntimeError("process killed mid-occurrence, after the ledger keys were inserted")
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "enqueue_batch", crash_once)
    first = queue_due(app.session_factory, due + timedelta(minutes=1), GRACE)
    assert first.failed == 1  # the first school's occurrence rolled back; the other school went through
    monkeypatch.setattr(engine, "enqueue_batch", real)
    # A new process (new engine and sessions) picks up where the old one stopped, still in the window.
    restarted = App(app.settings, clock=app.clock)
    second = queue_due(restarted.session_factory, due + timedelta(minutes=20), GRACE)
    third = queue_due(restarted.session_factory, due + timedelta(minutes=40), GRACE)
    restarted.engine.dispose()
    assert second.queued > 0 and third.queued == 0
    with app.session_factory() as s:
        rows = list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reminder.term_start")))
        queued_keys = s.scalar(
            select(func.count())
            .select_from(ReminderSent)
            .where(ReminderSent.rule == "term_start", ReminderSent.status == ReminderStatus.QUEUED)
        )
    assert len([r for r in rows if r.person_id == demo.parent]) == 2  # one per child's school
    assert len([r for r in rows if r.person_id == demo.teacher]) == 1
    assert queued_keys == first.queued + second.queued


def vacation_reminders(app: App) -> tuple[dict[int, int], int]:
    """Vacation reminders queued per person, and the ledger keys marked queued for them."""
    with app.session_factory() as s:
        per_person = dict(
            s.execute(
                select(OutboxMessage.person_id, func.count())
                .where(OutboxMessage.kind == "reminder.vacation")
                .group_by(OutboxMessage.person_id)
            ).all()
        )
        keys = s.scalar(
            select(func.count())
            .select_from(ReminderSent)
            .where(ReminderSent.rule == "vacation", ReminderSent.status == ReminderStatus.QUEUED)
        )
    return per_person, int(keys or 0)


def test_on_sqlite_every_process_leads_yet_each_reminder_is_queued_once(app: App, demo, console) -> None:  # type: ignore[no-untyped-def]
    """SQLite has no advisory lock: two processes' schedulers both run the jobs at the same tick.
    The ReminderSent ledger alone keeps it to one reminder per recipient."""
    if app.engine.dialect.name != "sqlite":
        pytest.skip("on PostgreSQL one leader runs the jobs (test_only_one_process_holds_the_scheduler_lock)")
    for person_id in (demo.parent, demo.teacher, demo.principal):
        console.external_id(person_id)
    other = App(app.settings, clock=app.clock)  # a second process: its own engine and connections
    now = local(2027, 1, 13, 16, 1)
    barrier = threading.Barrier(2)
    reports: list[Any] = []
    errors: list[BaseException] = []

    def scheduler(instance: App) -> None:
        try:
            barrier.wait()
            reports.append(run_jobs(instance, now, leader=LeaderLock(instance.engine), only=("reminders",)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=scheduler, args=(a,)) for a in (app, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    other.engine.dispose()
    assert not errors
    ran = [r["reminders"] for r in reports]
    assert len(ran) == 2 and None not in ran  # neither process stood aside
    per_person, keys = vacation_reminders(app)
    assert per_person == {demo.parent: 2, demo.teacher: 1}
    # What the two processes say they queued adds up to the ledger: nobody queued a key twice.
    assert sum(r.queued for r in ran) == keys
    # A third tick for the same slot, after both, queues nothing.
    again = run_jobs(app, now + timedelta(minutes=5), leader=LeaderLock(app.engine), only=("reminders",))
    assert again["reminders"].queued == 0


@pytest.fixture
def second_app(app: App) -> Iterator[App]:
    if app.engine.dialect.name != "postgresql":
        pytest.skip("advisory locks and concurrent schedulers need PostgreSQL")
    other = App(app.settings, clock=app.clock)
    yield other
    other.engine.dispose()


def test_only_one_process_holds_the_scheduler_lock(app: App, second_app: App) -> None:
    first, second = LeaderLock(app.engine, key=4242), LeaderLock(second_app.engine, key=4242)
    assert first.acquire()
    assert not second.acquire()
    assert first.acquire()  # still ours
    first.release()
    assert second.acquire()
    second.release()


@pytest.mark.parametrize("with_lock", [True, False])
def test_two_schedulers_at_once_queue_one_reminder_per_recipient(
    app: App,
    second_app: App,
    demo,
    console,
    with_lock: bool,  # type: ignore[no-untyped-def]
) -> None:
    for person_id in (demo.parent, demo.teacher, demo.principal):
        console.external_id(person_id)
    now = local(2027, 1, 13, 16, 1)
    barrier = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []
    locks = [LeaderLock(a.engine, key=777) for a in (app, second_app)]

    def scheduler(index: int, instance: App) -> None:
        try:
            barrier.wait()
            results.append(
                run_jobs(instance, now, leader=locks[index] if with_lock else None, only=("reminders",))
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=scheduler, args=(i, a)) for i, a in enumerate((app, second_app))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for lock in locks:
        lock.release()
    assert not errors
    ran = [r["reminders"] for r in results if r["reminders"] is not None]
    assert len(ran) == (1 if with_lock else 2)
    per_person, keys = vacation_reminders(app)
    assert per_person == {demo.parent: 2, demo.teacher: 1}
    assert sum(r.queued for r in ran) == keys


async def test_serve_runs_until_stopped(app: App) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop))
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert task.done() and task.exception() is None
