"""Shared helpers for the attendance tests: demo lookups and the clock of the demo week."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from chatbot.app import App
from chatbot.core.messages import Reply
from db.models import Guardian, Person, SchoolClass, Student

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 23 November 2026 in Shanghai (UTC+8): 08:00 is before the 10:00 cutoff, 10:30 after it.
MONDAY = date(2026, 11, 23)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time as an aware UTC datetime."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def texts(replies: list[Reply]) -> str:
    return "\n".join(r.text for r in replies)


def teacher_class(app: App, teacher_id: int) -> tuple[int, list[int]]:
    """The demo teacher's class id and its pupils' ids in roll order."""
    with app.session_factory() as s:
        klass = s.scalars(select(SchoolClass).where(SchoolClass.class_teacher_id == teacher_id)).one()
        pupils = list(
            s.scalars(
                select(Student.id)
                .where(Student.class_id == klass.id)
                .order_by(Student.student_no, Student.id)
            )
        )
        return klass.id, pupils


def guardian_of(app: App, student_id: int) -> int:
    with app.session_factory() as s:
        return s.scalars(select(Guardian.person_id).where(Guardian.student_id == student_id)).first()  # type: ignore[return-value]


def name_of(app: App, student_id: int) -> str:
    with app.session_factory() as s:
        student = s.get(Student, student_id)
        assert student is not None
        return student.name


def phone_of(app: App, person_id: int) -> str | None:
    with app.session_factory() as s:
        person = s.get(Person, person_id)
        assert person is not None
        return person.phone
