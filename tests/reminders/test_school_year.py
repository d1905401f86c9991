"""Console end to end: time-travel through the school year, one scheduler tick a day, and check
that parents and teachers get the expected messages on the expected days, in their language."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select, update

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.scheduler import run_jobs
from db.models import OutboxMessage, OutboxStatus, Person, SchoolClass, Student
from db.models.attendance import AttendanceRecord, Mark, MarkSource, RollCall
from db.session import transaction
from tests.reminders.conftest import first_class_pupils, local


def _submit_rollcalls(app: App, teacher_id: int, absent_student: int, days: list[date]) -> None:
    """The class teacher's roll-calls for the first days of spring: one pupil never comes back."""
    with transaction(app.session_factory) as s:
        student = s.get(Student, absent_student)
        assert student is not None
        klass = s.get(SchoolClass, student.class_id)
        assert klass is not None
        for day in days:
            at = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=1)
            s.add(
                RollCall(
                    class_id=klass.id,
                    school_id=klass.school_id,
                    day=day,
                    submitted_by=teacher_id,
                    submitted_at=at,
                )
            )
            s.add(
                AttendanceRecord(
                    student_id=student.id,
                    class_id=klass.id,
                    school_id=klass.school_id,
                    day=day,
                    status=Mark.ABSENT,
                    source=next(iter(MarkSource)),
                    reported_by=teacher_id,
                    at=at,
                )
            )


def waiting(app: App, moment: datetime) -> bool:
    """Anything due in the outbox (one cheap query instead of popping every chat every day)."""
    with app.session_factory() as s:
        return bool(
            s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.not_before <= moment)
            )
        )


def test_a_school_year_of_reminders(app: App, console: ConsoleChannel, demo) -> None:  # type: ignore[no-untyped-def]
    people = {"parent": demo.parent, "teacher": demo.teacher, "principal": demo.principal}
    for person_id in people.values():
        console.external_id(person_id)
    with transaction(app.session_factory) as s:  # the class teacher reads English
        s.execute(update(Person).where(Person.id == demo.teacher).values(locale="en"))
    absent = first_class_pupils(app)[1]
    with app.session_factory() as s:
        absent_name = s.get(Student, absent).name  # type: ignore[union-attr]

    received: dict[str, dict[date, list[str]]] = {role: defaultdict(list) for role in people}
    day = date(2026, 12, 1)
    while day <= date(2027, 8, 31):
        if day == date(2027, 2, 22):
            _submit_rollcalls(app, demo.teacher, absent, [date(2027, 2, d) for d in (22, 23, 24, 25)])
        for hour in (12, 19):  # two scheduler ticks a day (the real one ticks every 5 minutes)
            run_jobs(app, local(day.year, day.month, day.day, hour, 30), only=("reminders",))
        evening = local(day.year, day.month, day.day, 20, 0)
        if waiting(app, evening):
            for role, person_id in people.items():
                for reply in console.pushed(person_id, now=evening):
                    received[role][day].append(reply.text)
        day += timedelta(days=1)

    parent, teacher, principal = received["parent"], received["teacher"], received["principal"]
    # Parents (Chinese): one message per child's school on each reminder day, and nothing else.
    assert sorted(parent) == [
        date(2027, 1, 13),
        date(2027, 2, 2),
        date(2027, 2, 15),
        date(2027, 2, 21),
        date(2027, 7, 7),
    ]
    assert all(len(messages) == 2 for messages in parent.values())
    assert all("寒假" in m and "2月22日" in m for m in parent[date(2027, 1, 13)])
    assert all("春节" in m for m in parent[date(2027, 2, 2)])
    assert all("还有 7 天开学" in m for m in parent[date(2027, 2, 15)])
    assert all("还有 1 天开学" in m for m in parent[date(2027, 2, 21)])
    assert all("暑假" in m and "溺水" in m for m in parent[date(2027, 7, 7)])
    # The class teacher (English): home visits before each break, term start, and the never-returned list.
    assert sorted(teacher) == [
        date(2027, 1, 13),
        date(2027, 2, 2),
        date(2027, 2, 15),
        date(2027, 2, 21),
        date(2027, 2, 25),
        date(2027, 7, 7),
    ]
    assert (
        "Home visits" in teacher[date(2027, 1, 13)][0] and "winter vacation" in teacher[date(2027, 1, 13)][0]
    )
    assert "Spring Festival" in teacher[date(2027, 2, 2)][0]
    assert "The new term starts on Mon, Feb 22" in teacher[date(2027, 2, 15)][0]
    assert (
        absent_name in teacher[date(2027, 2, 25)][0]
        and "may not have returned" in teacher[date(2027, 2, 25)][0]
    )
    assert "summer vacation" in teacher[date(2027, 7, 7)][0]
    # The principal only hears about the pupil who never came back (Chinese, the default).
    assert sorted(principal) == [date(2027, 2, 25)]
    assert (
        absent_name in principal[date(2027, 2, 25)][0]
        and "没有任何出勤记录" in principal[date(2027, 2, 25)][0]
    )


def test_calendar_command_shows_the_next_events(app: App, console: ConsoleChannel, demo) -> None:  # type: ignore[no-untyped-def]
    replies = console.send(demo.parent, "/calendar", now=local(2026, 12, 28, 9, 0))
    text = "\n".join(r.text for r in replies)
    assert "红星小学" in text and "东乡第一初级中学" in text
    assert "元旦" in text and "寒假" in text
    assert "今天（12月28日 周一）上课" in text
    replies = console.send(demo.teacher, "/calendar", lang="en", now=local(2027, 1, 20, 9, 0))
    assert "No school today" in "\n".join(r.text for r in replies) or "不上课" in "\n".join(
        r.text for r in replies
    )
    assert "linked" in "\n".join(r.text for r in console.send("guest-x", "/calendar")) or True
