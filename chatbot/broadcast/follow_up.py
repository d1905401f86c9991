"""Following a notice up: who may see it, the delivery report, who has not confirmed, cancel, “Got it”,
the one reminder, and the sender's recent notices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from chatbot.broadcast.compose import BroadcastError
from chatbot.broadcast.create import NOTICE_KIND, REF_TYPE, REMINDER_KIND, queue_to
from chatbot.broadcast.targets import NoticeTarget
from chatbot.config import Settings
from chatbot.delivery.outbox import after_quiet_hours
from chatbot.i18n import _, format_moment
from chatbot.people.auth import Act, can
from db.models import AuditLog, ChannelIdentity, OutboxMessage, OutboxStatus, Person
from db.models.broadcast import Broadcast, BroadcastRecipient, BroadcastStatus


def target_of(broadcast: Broadcast) -> NoticeTarget:
    return NoticeTarget(broadcast.scope_type, broadcast.scope_id, broadcast.audience, broadcast.grade)


def visible_broadcast(session: Session, person: Person | None, broadcast_id: int) -> Broadcast:
    """The notice, if this person sent it or may broadcast to its target; raises BroadcastError otherwise."""
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None or person is None:
        raise BroadcastError(_("There is no notice #{id}.").format(id=broadcast_id))
    if broadcast.sender_person_id != person.id and not can(
        session, person, Act.BROADCAST, target_of(broadcast).auth_target()
    ):
        raise BroadcastError(_("There is no notice #{id}.").format(id=broadcast_id))
    return broadcast


@dataclass(frozen=True)
class Report:
    recipients: int
    messages: int
    delivered: int
    pending: int
    failed: int
    unreachable: int
    acknowledged: int
    cancelled: bool
    stopped: int  # people whose every message was withdrawn by "Cancel the rest", not failed


def report(session: Session, broadcast: Broadcast) -> Report:
    """People delivered / pending / stopped / failed / unreachable and acknowledged (set-based)."""
    sent = func.max(case((OutboxMessage.status == OutboxStatus.SENT, 1), else_=0)).label("sent")
    pending = func.max(
        case((OutboxMessage.status.in_((OutboxStatus.QUEUED, OutboxStatus.SENDING)), 1), else_=0)
    ).label("pending")
    live = func.max(case((OutboxMessage.status == OutboxStatus.CANCELLED, 0), else_=1)).label("live")
    per_person = (
        select(OutboxMessage.person_id, sent, pending, live)
        .where(
            OutboxMessage.ref_type == REF_TYPE,
            OutboxMessage.ref_id == broadcast.id,
            OutboxMessage.kind == NOTICE_KIND,
        )
        .group_by(OutboxMessage.person_id)
        .subquery()
    )
    with_rows, delivered, waiting, stopped = session.execute(
        select(
            func.count(),
            func.count().filter(per_person.c.sent == 1),
            func.count().filter(per_person.c.sent == 0, per_person.c.pending == 1),
            func.count().filter(per_person.c.live == 0),
        ).select_from(per_person)
    ).one()
    acknowledged = session.scalar(
        select(func.count()).where(
            BroadcastRecipient.broadcast_id == broadcast.id, BroadcastRecipient.acked_at.is_not(None)
        )
    )
    return Report(
        recipients=broadcast.recipient_count,
        messages=broadcast.message_count,
        delivered=int(delivered),
        pending=int(waiting),
        failed=int(with_rows) - int(delivered) - int(waiting) - int(stopped),
        unreachable=broadcast.recipient_count - int(with_rows),
        acknowledged=int(acknowledged or 0),
        cancelled=broadcast.status == BroadcastStatus.CANCELLED,
        stopped=int(stopped),
    )


def not_acknowledged(session: Session, broadcast: Broadcast, limit: int = 30) -> tuple[list[str], int]:
    """Names of recipients who have not pressed “Got it” (first `limit`), and how many there are."""
    query = (
        select(Person.name)
        .join(BroadcastRecipient, BroadcastRecipient.person_id == Person.id)
        .where(BroadcastRecipient.broadcast_id == broadcast.id, BroadcastRecipient.acked_at.is_(None))
    )
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    linked = (
        select(ChannelIdentity.id)
        .where(ChannelIdentity.person_id == Person.id, ChannelIdentity.active.is_(True))
        .exists()
    )
    rows = session.execute(query.add_columns(linked).order_by(Person.name, Person.id).limit(limit)).all()
    # Those without a chat account never saw the notice: the sender should phone them instead.
    names = [
        name if has_account else _("{name} (no chat account)").format(name=name) for name, has_account in rows
    ]
    return names, int(count)


def cancel_broadcast(session: Session, person: Person | None, broadcast_id: int, now: datetime) -> int:
    """Stop a scheduled or running notice: every message not yet sent is cancelled. Returns how many."""
    broadcast = visible_broadcast(session, person, broadcast_id)
    if broadcast.status == BroadcastStatus.CANCELLED:
        raise BroadcastError(_("Notice #{id} was already cancelled.").format(id=broadcast.id))
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.ref_type == REF_TYPE,
            OutboxMessage.ref_id == broadcast.id,
            OutboxMessage.status == OutboxStatus.QUEUED,
        )
        .values(status=OutboxStatus.CANCELLED, last_error="notice cancelled")
        .execution_options(synchronize_session=False)
    )
    stopped = int(getattr(result, "rowcount", 0) or 0)
    if stopped == 0:
        raise BroadcastError(
            _("Notice #{id} has already been delivered; there is nothing left to cancel.").format(
                id=broadcast.id
            )
        )
    broadcast.status = BroadcastStatus.CANCELLED
    broadcast.cancelled_at = now
    assert person is not None
    session.add(
        AuditLog(
            at=now,
            actor_person_id=person.id,
            action="broadcast.cancel",
            target=broadcast.target,
            details={"broadcast_id": broadcast.id, "cancelled_messages": stopped},
        )
    )
    return stopped


def acknowledge(session: Session, person: Person | None, broadcast_id: int, now: datetime) -> bool:
    """Record “Got it”; True the first time, False when already acknowledged. Raises for non-recipients."""
    recipient = (
        session.get(BroadcastRecipient, {"broadcast_id": broadcast_id, "person_id": person.id})
        if person
        else None
    )
    if recipient is None:
        raise BroadcastError(_("This notice was not sent to you."))
    if recipient.acked_at is not None:
        return False
    recipient.acked_at = now
    return True


@dataclass(frozen=True)
class Reminded:
    """What a reminder did, counted from the outbox rows it wrote.

    `messages`: reminder rows queued (one per active chat account); `people`: how many people those
    rows go to; `unreachable`: people who have not confirmed and have no active chat account.
    A reminder with no rows does not use up the one allowed.
    """

    messages: int
    people: int
    unreachable: int


def _check_remindable(broadcast: Broadcast, now: datetime) -> None:
    """Raise BroadcastError when this notice may not be reminded now."""
    if not broadcast.ack_required:
        raise BroadcastError(_("Notice #{id} did not ask for confirmation.").format(id=broadcast.id))
    if broadcast.status == BroadcastStatus.CANCELLED:
        raise BroadcastError(_("Notice #{id} was cancelled.").format(id=broadcast.id))
    if broadcast.scheduled_at > now:
        raise BroadcastError(_("Notice #{id} has not been sent yet.").format(id=broadcast.id))
    if broadcast.reminded_at is not None:
        raise BroadcastError(
            _("A reminder for notice #{id} was already sent on {time}; only one is allowed.").format(
                id=broadcast.id, time=format_moment(broadcast.reminded_at, broadcast.tz)
            )
        )


def _reminder_rows(session: Session, broadcast_id: int) -> tuple[int, int]:
    """(rows, distinct people) of this notice's reminder in the outbox."""
    rows, people = session.execute(
        select(func.count(), func.count(func.distinct(OutboxMessage.person_id))).where(
            OutboxMessage.ref_type == REF_TYPE,
            OutboxMessage.ref_id == broadcast_id,
            OutboxMessage.kind == REMINDER_KIND,
        )
    ).one()
    return int(rows), int(people)


def send_reminder(
    session: Session, person: Person | None, broadcast_id: int, now: datetime, settings: Settings
) -> Reminded:
    """Queue the one reminder to recipients who have not acknowledged; says what was really queued."""
    broadcast = visible_broadcast(session, person, broadcast_id)
    _check_remindable(broadcast, now)
    waiting = select(BroadcastRecipient.person_id).where(
        BroadcastRecipient.broadcast_id == broadcast.id, BroadcastRecipient.acked_at.is_(None)
    )
    waiting_people = int(session.scalar(select(func.count()).select_from(waiting.subquery())) or 0)
    if waiting_people == 0:
        raise BroadcastError(
            _("Everyone has confirmed notice #{id}; no reminder is needed.").format(id=broadcast.id)
        )
    sender = session.get(Person, broadcast.sender_person_id) if broadcast.sender_person_id else None
    # Rows exist only once a reminder reached someone, and then no other is allowed: `before` is 0.
    before, _people = _reminder_rows(session, broadcast.id)
    queue_to(
        session,
        broadcast,
        waiting,
        kind=REMINDER_KIND,
        not_before=after_quiet_hours(now, broadcast.tz, settings.quiet_hours_start, settings.quiet_hours_end),
        now=now,
        sender_name=sender.name if sender else "",
        target=target_of(broadcast),
    )
    after, reached = _reminder_rows(session, broadcast.id)
    done = Reminded(messages=after - before, people=reached, unreachable=waiting_people - reached)
    if done.messages > 0:
        # Only a reminder that went to someone uses up the one allowed.
        broadcast.reminded_at = now
    assert person is not None
    session.add(
        AuditLog(
            at=now,
            actor_person_id=person.id,
            action="broadcast.remind",
            target=broadcast.target,
            details={
                "broadcast_id": broadcast.id,
                "people": done.people,
                "messages": done.messages,
                "unreachable": done.unreachable,
            },
        )
    )
    return done


def recent_broadcasts(session: Session, person: Person, limit: int = 8) -> list[Broadcast]:
    return list(
        session.scalars(
            select(Broadcast)
            .where(Broadcast.sender_person_id == person.id)
            .order_by(Broadcast.created_at.desc(), Broadcast.id.desc())
            .limit(limit)
        )
    )
