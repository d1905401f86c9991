"""Fifty people at once through the router: roll-calls (quick text and the full flow) and leave requests.

No "database is locked" (or any other failure) may reach a user: every reply is a real answer, the
router logs no failed update, and everything submitted is stored. On PostgreSQL two delivery
workers and two schedulers run at the same time: every queued message goes out exactly once and
the daily close alerts each absence once.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.delivery.collect import CollectingSender
from chatbot.delivery.worker import drain_once
from chatbot.scheduler import run_jobs
from db.models import Guardian, Membership, OutboxMessage, OutboxStatus, Person, Role, SchoolClass, ScopeType
from db.models.attendance import AttendanceRecord, LeaveRequest, RollCall
from db.session import transaction
from tests.attendance.helpers import MONDAY, at
from tests.conftest import PG_URL, make_settings
from tests.core.test_fuzz import APOLOGY_MARKERS

USERS = 50


def _plan(app: App) -> tuple[list[tuple[int, list[tuple[str, str]]]], list[int], list[int]]:
    """Who does what: every class teacher submits three times, the other users ask for leave."""
    with app.session_factory() as s:
        classes = list(s.scalars(select(SchoolClass).order_by(SchoolClass.id)))
        plans: list[tuple[int, list[tuple[str, str]]]] = []
        for index, klass in enumerate(classes):
            assert klass.class_teacher_id is not None
            teacher = klass.class_teacher_id
            plans.append((teacher, [("text", f"缺 {index + 1} {index + 2}")]))
            plans.append((teacher, [("text", "/rollcall"), ("payload", f"rcs:{klass.id}")]))
            plans.append((teacher, [("text", f"迟到 {index + 3}")]))
        # Guardians of single children (the leave flow then skips the child question).
        only_child = (
            select(Guardian.person_id)
            .group_by(Guardian.person_id)
            .having(func.count() == 1)
            .order_by(Guardian.person_id)
            .limit(USERS - len(plans))
        )
        parents = list(s.scalars(only_child))
        for parent in parents:
            plans.append(
                (
                    parent,
                    [
                        ("text", "/leave"),
                        ("payload", "lvs:today"),
                        ("payload", "lvt:sick"),
                        ("payload", "lvn:1"),
                    ],
                )
            )
        return plans, [k.id for k in classes], parents


def _run_users(console: ConsoleChannel, plans: list[tuple[int, list[tuple[str, str]]]]) -> list[str]:
    """Each user in their own thread, all released at once; returns every problem seen."""
    for person_id, _steps in plans:
        console.external_id(person_id)  # bind before the race, as a real account would be
    barrier = threading.Barrier(len(plans))
    now = at(MONDAY, 8)

    def user(person_id: int, steps: list[tuple[str, str]]) -> list[str]:
        problems: list[str] = []
        barrier.wait()
        for kind, value in steps:
            replies = (
                console.send(person_id, value, now=now)
                if kind == "text"
                else console.send(person_id, payload=value, now=now)
            )
            joined = "\n".join(r.text for r in replies)
            if not replies or any(m in joined for m in APOLOGY_MARKERS):
                problems.append(f"person {person_id} {value!r}: {joined[:120]!r}")
        return problems

    with ThreadPoolExecutor(len(plans)) as pool:
        futures = [pool.submit(user, pid, steps) for pid, steps in plans]
        return [p for f in futures for p in f.result(timeout=300)]


def _failed_updates(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR or "locked" in r.getMessage() or "failed" in r.getMessage()
    ]


def test_fifty_people_at_once_all_get_answers_and_everything_is_stored(
    app: App, console: ConsoleChannel, caplog: pytest.LogCaptureFixture
) -> None:
    plans, class_ids, parents = _plan(app)
    assert len(plans) == USERS
    problems = _run_users(console, plans)
    assert problems == []
    assert _failed_updates(caplog) == []
    with app.session_factory() as s:
        rollcalls = s.scalar(select(func.count()).select_from(RollCall).where(RollCall.day == MONDAY))
        late = s.scalar(
            select(func.count()).select_from(AttendanceRecord).where(AttendanceRecord.day == MONDAY)
        )
        leaves = s.scalar(
            select(func.count()).select_from(LeaveRequest).where(LeaveRequest.requested_by.in_(parents))
        )
    assert rollcalls == len(class_ids)  # one per class and day, however many submissions raced
    assert late and late >= len(class_ids)  # the "迟到" marks at least (a full submit may replace the rest)
    assert leaves == len(parents)


@pytest.mark.skipif(not PG_URL, reason="several workers and schedulers at once need PostgreSQL")
def test_two_workers_and_two_schedulers_while_fifty_people_write(
    app: App, console: ConsoleChannel, caplog: pytest.LogCaptureFixture
) -> None:
    second = App(make_settings(app.settings.database_url), clock=app.clock)
    plans, _class_ids, _parents = _plan(app)
    stop = threading.Event()
    senders = [CollectingSender("console"), CollectingSender("console")]
    errors: list[BaseException] = []

    def worker(instance: App, sender: CollectingSender) -> None:
        try:
            while not stop.is_set():
                drain_once(instance.session_factory, [sender], now=at(MONDAY, 10, 30))
        except BaseException as exc:
            errors.append(exc)

    def scheduler(instance: App) -> None:
        try:
            for minute in range(5):
                run_jobs(instance, at(MONDAY, 10, 30 + minute))
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=worker, args=(app, senders[0])),
        threading.Thread(target=worker, args=(second, senders[1])),
        threading.Thread(target=scheduler, args=(app,)),
        threading.Thread(target=scheduler, args=(second,)),
    ]
    for thread in threads:
        thread.start()
    try:
        problems = _run_users(console, plans)
    finally:
        for thread in threads[2:]:
            thread.join(300)
        stop.set()
        for thread in threads[:2]:
            thread.join(300)
    # One last pass so what the schedulers queued last is drained too.
    drain_once(app.session_factory, [senders[0]], now=at(MONDAY, 10, 40))
    second.engine.dispose()
    assert problems == []
    assert errors == []
    assert _failed_updates(caplog) == []
    sent = Counter(m.row_id for sender in senders for m in sender.sent)
    assert [row for row, times in sent.items() if times > 1] == []
    with app.session_factory() as s:
        statuses = Counter(s.scalars(select(OutboxMessage.status)))
        alerts = Counter(
            s.execute(
                select(OutboxMessage.identity_id, OutboxMessage.kind, OutboxMessage.text).where(
                    OutboxMessage.kind.like("attendance%")
                )
            ).all()
        )
    assert statuses[OutboxStatus.SENDING] == 0
    assert statuses[OutboxStatus.SENT] == len(sent)
    assert [key for key, times in alerts.items() if times > 1] == []


@pytest.mark.parametrize("who", ["new", "teacher"])
def test_one_person_tapping_fast_gets_answers_not_apologies(
    app: App, console: ConsoleChannel, demo: Any, who: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Double taps: the same chat sends many updates at once (a brand-new chat, or a teacher mid-dialog)."""
    chat: int | str = "double-tap-new-chat" if who == "new" else demo.teacher
    if who == "teacher":
        console.send(chat, "/rollcall", now=at(MONDAY, 8))
    barrier = threading.Barrier(12)
    texts = ["/rollcall", "/help", "/whoami", "1", "/leave", "/cancel"] * 2

    def tap(value: str) -> str:
        barrier.wait()
        return "\n".join(r.text for r in console.send(chat, value, now=at(MONDAY, 8)))

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(tap, texts))
    assert [a for a in answers if not a or any(m in a for m in APOLOGY_MARKERS)] == []
    assert _failed_updates(caplog) == []


def test_two_teachers_of_one_class_submitting_at_once(
    app: App, console: ConsoleChannel, demo: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The class teacher and a subject teacher record the same class and pupils at the same moment."""
    with transaction(app.session_factory) as s:
        klass = s.scalars(select(SchoolClass).where(SchoolClass.class_teacher_id == demo.teacher)).one()
        helper = Person(name="科任老师", phone=None, created_at=at(MONDAY, 7))
        s.add(helper)
        s.flush()
        s.add(
            Membership(person_id=helper.id, role=Role.TEACHER, scope_type=ScopeType.CLASS, scope_id=klass.id)
        )
        helper_id = helper.id
    people = [demo.teacher, helper_id] * 6
    for person_id in set(people):
        console.external_id(person_id)
    barrier = threading.Barrier(len(people))

    def submit(index_and_person: tuple[int, int]) -> str:
        index, person_id = index_and_person
        barrier.wait()
        text = "缺 1 2" if index % 2 else "/rollcall"
        return "\n".join(r.text for r in console.send(person_id, text, now=at(MONDAY, 8)))

    with ThreadPoolExecutor(len(people)) as pool:
        answers = list(pool.map(submit, enumerate(people)))
    assert [a for a in answers if not a or any(m in a for m in APOLOGY_MARKERS)] == []
    assert _failed_updates(caplog) == []
    with app.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(RollCall).where(RollCall.class_id == klass.id)) == 1
