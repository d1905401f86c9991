"""Helpers for the reminder tests: local times, binding demo people, reading the outbox and ledger."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from db.models import OutboxMessage, School, SchoolClass
from db.models.calendar import ReminderSent

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def outbox(app: App, person_id: int | None = None) -> list[OutboxMessage]:
    with app.session_factory() as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if person_id is not None:
            query = query.where(OutboxMessage.person_id == person_id)
        return list(s.scalars(query))


def ledger(app: App, rule: str | None = None) -> list[ReminderSent]:
    with app.session_factory() as s:
        query = select(ReminderSent).order_by(ReminderSent.id)
        if rule is not None:
            query = query.where(ReminderSent.rule == rule)
        return list(s.scalars(query))


def first_class_pupils(app: App, school_name: str = "红星小学") -> list[int]:
    with app.session_factory() as s:
        school = s.scalars(select(School).where(School.name == school_name)).one()
        klass = s.scalars(
            select(SchoolClass).where(SchoolClass.school_id == school.id).order_by(SchoolClass.id)
        ).first()
        assert klass is not None
        return [p.id for p in sorted(klass.students, key=lambda p: p.student_no)]


@pytest.fixture
def bound(console: ConsoleChannel, demo):  # type: ignore[no-untyped-def]
    """The demo parent, class teacher and principal, each with a console chat account."""
    for person_id in (demo.parent, demo.teacher, demo.principal):
        console.external_id(person_id)
    return demo
