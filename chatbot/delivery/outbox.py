"""Queueing messages for delivery, in the caller's transaction.

Domain code renders a message per recipient locale and hands it here; the delivery worker
sends it later through the recipient's channel. Nothing else sends unrequested messages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from chatbot.core.messages import Reply, buttons_to_json
from chatbot.i18n import DEFAULT_LOCALE, use_locale
from db.models import ChannelIdentity, OutboxMessage, OutboxStatus, Person, Priority

Render = Callable[[], Reply]

QUIET_START = time(21, 0)
QUIET_END = time(7, 0)


def after_quiet_hours(
    moment: datetime, tz: str, start: time = QUIET_START, end: time = QUIET_END
) -> datetime:
    """The earliest time at or after `moment` outside quiet hours in the zone `tz`."""
    local = moment.astimezone(ZoneInfo(tz))
    clock = local.timetz().replace(tzinfo=None)
    in_quiet = (clock >= start or clock < end) if start > end else (start <= clock < end)
    if not in_quiet:
        return moment
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=ZoneInfo(tz)).astimezone(moment.tzinfo)


def active_identities(session: Session, person_id: int) -> list[ChannelIdentity]:
    return list(
        session.scalars(
            select(ChannelIdentity).where(
                ChannelIdentity.person_id == person_id, ChannelIdentity.active.is_(True)
            )
        )
    )


def enqueue_for_person(
    session: Session,
    person: Person,
    render: Render,
    *,
    kind: str,
    now: datetime,
    priority: Priority = Priority.NORMAL,
    not_before: datetime | None = None,
    dedupe_key: str | None = None,
    ref: tuple[str, int] | None = None,
    tz: str = "Asia/Shanghai",
    quiet_start: time = QUIET_START,
    quiet_end: time = QUIET_END,
) -> list[OutboxMessage]:
    """Queue one message to every active chat account of `person`, each in its own language.

    With a `dedupe_key` the same event queues at most once per account, however often it runs.
    Non-urgent messages due in quiet hours wait until the quiet hours end.
    """
    due = not_before or now
    if priority != Priority.URGENT:
        due = after_quiet_hours(due, tz, quiet_start, quiet_end)
    rows: list[OutboxMessage] = []
    for identity in active_identities(session, person.id):
        key = f"{dedupe_key}|{identity.id}" if dedupe_key else None
        if key and session.scalars(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)).first():
            continue
        with use_locale(identity.locale or person.locale or DEFAULT_LOCALE):
            reply = render()
        row = OutboxMessage(
            identity_id=identity.id,
            person_id=person.id,
            channel=identity.channel,
            kind=kind,
            text=reply.text,
            buttons=buttons_to_json(reply.buttons),
            priority=int(priority),
            not_before=due,
            status=OutboxStatus.QUEUED,
            attempts=0,
            dedupe_key=key,
            ref_type=ref[0] if ref else None,
            ref_id=ref[1] if ref else None,
            tz=tz,
            created_at=now,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows
