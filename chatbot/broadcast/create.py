"""Creating a notice and queueing its messages, all in the caller's transaction.

A notice is queued in the outbox in the same transaction that creates it: one row per chat
account of every recipient, each in the recipient's language (falling back to the base text).
Recipients are fixed when the notice is confirmed, also for scheduled notices.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Subquery, func, insert, literal, select
from sqlalchemy.orm import Session

from chatbot.broadcast.compose import (
    AlreadySent,
    BroadcastError,
    NoticeDraft,
    ack_buttons,
    notice_text,
    validate_draft,
)
from chatbot.broadcast.targets import NoticeTarget, recipients_query, target_label, target_timezone
from chatbot.config import Settings
from chatbot.core.messages import Reply
from chatbot.delivery.outbox import after_quiet_hours, enqueue_selected
from chatbot.i18n import _, get_locale
from db.models import AuditLog, Person
from db.models.broadcast import Broadcast, BroadcastRecipient, BroadcastStatus

NOTICE_KIND = "notice"
REMINDER_KIND = "notice_reminder"
REF_TYPE = "broadcast"


def queue_to(
    session: Session,
    broadcast: Broadcast,
    recipients: Any,
    *,
    kind: str,
    not_before: datetime,
    now: datetime,
    sender_name: str,
    target: NoticeTarget,
) -> int:
    """One outbox row per active chat account of `recipients` (a select of person ids), in SQL."""

    def render() -> Reply:
        # The place is named in the reader's language too ("grade 3" / "3年级"), not the sender's.
        place = target_label(session, target, with_audience=False)
        reminder = kind == REMINDER_KIND
        return Reply(
            notice_text(broadcast, sender_name, place, get_locale(), reminder), ack_buttons(broadcast)
        )

    return enqueue_selected(
        session,
        recipients,
        render,
        kind=kind,
        ref=(REF_TYPE, broadcast.id),
        tz=broadcast.tz,
        not_before=not_before,
        now=now,
    )


def create_broadcast(
    session: Session,
    sender: Person,
    draft: NoticeDraft,
    *,
    now: datetime,
    settings: Settings,
    request_key: str | None = None,
) -> Broadcast:
    """Validate, fix the recipients, queue every message and audit it; raises BroadcastError, writing nothing."""
    _refuse_repeat(session, request_key)
    tz = target_timezone(session, draft.target, settings.timezone)
    validate_draft(session, sender, draft, now, tz)
    recipients, total = _count_recipients(session, draft.target, sender)
    # A time already reached (within the preview's tolerance) means "send now".
    scheduled = draft.at if draft.at is not None and draft.at > now else now
    broadcast = _add_broadcast(session, sender, draft, total, scheduled, tz, request_key, now)
    _fix_recipients(session, broadcast, recipients)
    not_before = after_quiet_hours(scheduled, tz, settings.quiet_hours_start, settings.quiet_hours_end)
    broadcast.message_count = queue_to(
        session,
        broadcast,
        select(BroadcastRecipient.person_id).where(BroadcastRecipient.broadcast_id == broadcast.id),
        kind=NOTICE_KIND,
        not_before=not_before,
        now=now,
        sender_name=sender.name,
        target=draft.target,
    )
    _audit_creation(session, sender, draft, broadcast, total, not_before, now)
    session.flush()
    return broadcast


def _refuse_repeat(session: Session, request_key: str | None) -> None:
    """Raise AlreadySent when a notice was already created for this request (a resent “Send” press)."""
    if not request_key:
        return
    existing = session.scalars(select(Broadcast).where(Broadcast.request_key == request_key)).first()
    if existing is not None:
        raise AlreadySent(
            _("This notice was already sent (notice #{id}). Send /notices to follow it.").format(
                id=existing.id
            ),
            existing.id,
        )


def _count_recipients(session: Session, target: NoticeTarget, sender: Person) -> tuple[Subquery, int]:
    """The recipients (the sender left out) and how many; refuses a target nobody is registered in."""
    recipients = recipients_query(target, exclude_person_id=sender.id).subquery()
    total = session.scalar(select(func.count()).select_from(recipients)) or 0
    if total == 0:
        raise BroadcastError(
            _("Nobody is registered in {target} yet, so there is no one to send to.").format(
                target=target_label(session, target)
            )
        )
    return recipients, int(total)


def _add_broadcast(
    session: Session,
    sender: Person,
    draft: NoticeDraft,
    total: int,
    scheduled: datetime,
    tz: str,
    request_key: str | None,
    now: datetime,
) -> Broadcast:
    """The notice row, flushed so its id can be put on the recipients and the outbox messages."""
    target = draft.target
    broadcast = Broadcast(
        sender_person_id=sender.id,
        scope_type=target.scope,
        scope_id=target.scope_id,
        grade=target.grade,
        audience=target.audience,
        target=target.code(),
        texts=dict(draft.texts),
        base_locale=draft.base_locale,
        ack_required=draft.ack,
        scheduled_at=scheduled,
        status=BroadcastStatus.ACTIVE,
        recipient_count=total,
        message_count=0,
        tz=tz,
        request_key=request_key,
        created_at=now,
    )
    session.add(broadcast)
    session.flush()
    return broadcast


def _fix_recipients(session: Session, broadcast: Broadcast, recipients: Subquery) -> None:
    """Store the recipients in one INSERT … SELECT, with their role and language."""
    # Stored now, so a scheduled notice goes to the people there when it was confirmed, and the
    # report and “Got it” count against this list rather than against whoever is registered later.
    session.execute(
        insert(BroadcastRecipient).from_select(
            ["broadcast_id", "person_id", "role", "locale"],
            select(literal(broadcast.id), recipients.c.person_id, recipients.c[1], Person.locale).join(
                Person, Person.id == recipients.c.person_id
            ),
        )
    )


def _audit_creation(
    session: Session,
    sender: Person,
    draft: NoticeDraft,
    broadcast: Broadcast,
    total: int,
    not_before: datetime,
    now: datetime,
) -> None:
    """The audit entry: who sent what to whom, how many messages, and when they may go out."""
    session.add(
        AuditLog(
            at=now,
            actor_person_id=sender.id,
            action="broadcast.create",
            target=draft.target.code(),
            details={
                "broadcast_id": broadcast.id,
                "recipients": total,
                "messages": broadcast.message_count,
                "scheduled_at": not_before.isoformat(),
                "ack_required": draft.ack,
                "locales": sorted(draft.texts),
            },
        )
    )
