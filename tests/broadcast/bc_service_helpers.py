"""Shared helpers of the test_bc_service_* tests: chat accounts with their own language, whole outbox
rows as tuples, notices created through the service, and refusals read in English."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.broadcast.service import BroadcastError, NoticeDraft, create_broadcast
from chatbot.broadcast.targets import NoticeTarget, TargetError
from chatbot.config import Settings
from chatbot.i18n import use_locale
from db.models import AuditLog, ChannelIdentity, OutboxMessage, Person
from db.session import transaction

# Every column of an outbox row a notice writes, in one tuple.
ROW_COLUMNS = (
    "identity_id",
    "person_id",
    "channel",
    "kind",
    "text",
    "buttons",
    "priority",
    "not_before",
    "status",
    "attempts",
    "last_error",
    "external_message_id",
    "edit_external_message_id",
    "dedupe_key",
    "ref_type",
    "ref_id",
    "tz",
    "created_at",
)


def add_account(
    app: App,
    person_id: int,
    now: datetime,
    *,
    channel: str = "console",
    locale: str | None = None,
    active: bool = True,
    external: str | None = None,
) -> int:
    """One chat account of the person (its own language setting, active or not); returns its id."""
    with transaction(app.session_factory) as s:
        account = ChannelIdentity(
            channel=channel,
            external_id=external or f"{channel}-{person_id}",
            person_id=person_id,
            locale=locale,
            active=active,
            failed_codes=0,
            last_buttons=[],
            created_at=now,
        )
        s.add(account)
        s.flush()
        return int(account.id)


def set_person_locale(app: App, person_id: int, locale: str | None) -> None:
    with transaction(app.session_factory) as s:
        person = s.get(Person, person_id)
        assert person is not None
        person.locale = locale


def notify(
    app: App,
    sender_id: int,
    target: NoticeTarget,
    texts: dict[str, str],
    now: datetime,
    *,
    ack: bool = False,
    at: datetime | None = None,
    base: str = "zh_Hans",
    settings: Settings | None = None,
    request_key: str | None = None,
) -> int:
    """Create a notice through the service as `sender_id`; returns its id."""
    with transaction(app.session_factory) as s:
        sender = s.get(Person, sender_id)
        assert sender is not None
        draft = NoticeDraft(target, dict(texts), base_locale=base, at=at, ack=ack)
        return create_broadcast(
            s, sender, draft, now=now, settings=settings or app.settings, request_key=request_key
        ).id


def outbox(app: App, **where: Any) -> list[tuple[Any, ...]]:
    """Outbox rows matching `where` (column=value), as ROW_COLUMNS tuples in id order."""
    with app.session_factory() as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for column, value in where.items():
            query = query.where(getattr(OutboxMessage, column) == value)
        return [tuple(getattr(row, c) for c in ROW_COLUMNS) for row in s.scalars(query)]


def audits(app: App, action: str) -> list[tuple[Any, ...]]:
    with app.session_factory() as s:
        return [
            (a.at, a.actor_person_id, a.action, a.target, a.details)
            for a in s.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id))
        ]


def refusal_en(action: Callable[[], object]) -> str:
    """The English message of the BroadcastError (or TargetError) the action raises."""
    with use_locale("en"), pytest.raises((BroadcastError, TargetError)) as raised:
        action()
    return str(raised.value)
