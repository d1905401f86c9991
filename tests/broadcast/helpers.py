"""Linking demo people to chat accounts, and delivering everything queued, for broadcast tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from chatbot.app import App
from chatbot.delivery.collect import CollectingSender
from chatbot.delivery.ports import OutgoingMessage
from chatbot.delivery.worker import drain_once
from db.models import ChannelIdentity, Guardian, Person, School, Student
from db.session import transaction


def school_id(app: App, name: str = "红星小学") -> int:
    with app.session_factory() as s:
        return int(s.scalars(select(School.id).where(School.name == name)).one())


def parents_of_school(app: App, school: int) -> list[int]:
    with app.session_factory() as s:
        return sorted(
            set(
                s.scalars(
                    select(Guardian.person_id)
                    .join(Student)
                    .where(Student.school_id == school, Student.active)
                )
            )
        )


def parents_of_class(app: App, class_id: int) -> list[int]:
    """Person ids of the guardians of the class's active pupils, ascending."""
    with app.session_factory() as s:
        return sorted(
            set(
                s.scalars(
                    select(Guardian.person_id)
                    .join(Student, Student.id == Guardian.student_id)
                    .where(Student.class_id == class_id, Student.active.is_(True))
                )
            )
        )


def link(
    app: App,
    person_ids: list[int],
    now: datetime,
    channel: str = "console",
    locales: dict[int, str] | None = None,
) -> None:
    """Give each person an active chat account (console ids match ConsoleChannel's), with their locale."""
    with transaction(app.session_factory) as s:
        for person_id in person_ids:
            if locales and person_id in locales:
                person = s.get(Person, person_id)
                assert person is not None
                person.locale = locales[person_id]
            external = f"person-{person_id}" if channel == "console" else f"{channel}-{person_id}"
            exists = s.scalars(
                select(ChannelIdentity).where(
                    ChannelIdentity.channel == channel, ChannelIdentity.external_id == external
                )
            ).first()
            if exists is None:
                s.add(
                    ChannelIdentity(
                        channel=channel,
                        external_id=external,
                        person_id=person_id,
                        active=True,
                        failed_codes=0,
                        last_buttons=[],
                        created_at=now,
                    )
                )


def deliver(app: App, now: datetime, channel: str = "console") -> list[OutgoingMessage]:
    sender = CollectingSender(channel)
    drain_once(app.session_factory, [sender], now=now)
    return sender.sent


def by_person(app: App, messages: list[OutgoingMessage]) -> dict[int, list[OutgoingMessage]]:
    with app.session_factory() as s:
        owners = dict(s.execute(select(ChannelIdentity.id, ChannelIdentity.person_id)).all())  # type: ignore[arg-type]
    result: dict[int, list[OutgoingMessage]] = {}
    for message in messages:
        result.setdefault(int(owners[message.identity_id]), []).append(message)
    return result


def texts(replies: list[Any]) -> str:
    return "\n".join(r.text for r in replies)
