"""Broadcast notices: create (validated, all or nothing), cancel, acknowledge, remind, report.

A notice is queued in the outbox in the same transaction that creates it: one row per chat
account of every recipient, each in the recipient's language (falling back to the base text).
Recipients are fixed when the notice is confirmed, also for scheduled notices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, insert, literal, select, update
from sqlalchemy.orm import Session

from chatbot.broadcast.payloads import AckNotice
from chatbot.broadcast.targets import (
    NoticeTarget,
    TargetError,
    check_target,
    recipients_query,
    target_label,
    target_timezone,
)
from chatbot.config import Settings
from chatbot.core.messages import Button, Reply
from chatbot.delivery.outbox import after_quiet_hours, enqueue_selected
from chatbot.i18n import DEFAULT_LOCALE, LOCALE_NAMES, LOCALES, _, format_moment, format_number, get_locale
from chatbot.people.auth import Act, can
from db.models import AuditLog, ChannelIdentity, OutboxMessage, OutboxStatus, Person
from db.models.broadcast import Broadcast, BroadcastRecipient, BroadcastScope, BroadcastStatus

# Short enough for one WeChat customer-service message and one Telegram message, in any script.
MAX_NOTICE_CHARS = 1000
MAX_SCHEDULE_AHEAD = timedelta(days=90)
# A "now" a minute old still counts as now (the preview took a while).
PAST_TOLERANCE = timedelta(minutes=1)
NOTICE_KIND = "notice"
REMINDER_KIND = "notice_reminder"
REF_TYPE = "broadcast"


class BroadcastError(ValueError):
    """Bad input or a refused action; the message is translated and shown as is."""


class AlreadySent(BroadcastError):
    def __init__(self, message: str, broadcast_id: int) -> None:
        super().__init__(message)
        self.broadcast_id = broadcast_id


@dataclass
class NoticeDraft:
    """What the dialog or the CLI collected: target, texts per locale, schedule, ack."""

    target: NoticeTarget
    texts: dict[str, str] = field(default_factory=dict)
    base_locale: str = DEFAULT_LOCALE
    at: datetime | None = None
    ack: bool = False


# --- validation ----------------------------------------------------------------------------------


def clean_notice_text(text: str | None, locale: str | None = None) -> str:
    """Trim; refuse empty or over-long text with the limit stated."""
    cleaned = (text or "").strip()
    language = LOCALE_NAMES.get(locale or "", "")
    if not cleaned:
        raise BroadcastError(_("The notice text is empty. Please write what you want to say."))
    if len(cleaned) > MAX_NOTICE_CHARS:
        raise BroadcastError(
            _("The {language} text has {count} characters; the limit is {limit}. Please shorten it.").format(
                language=language, count=format_number(len(cleaned)), limit=format_number(MAX_NOTICE_CHARS)
            )
        )
    return cleaned


_WHEN_PATTERNS = (
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})[ T](?P<H>\d{1,2}):(?P<M>\d{2})$"),
    re.compile(r"^(?P<m>\d{1,2})-(?P<d>\d{1,2}) (?P<H>\d{1,2}):(?P<M>\d{2})$"),
    re.compile(r"^(?P<H>\d{1,2}):(?P<M>\d{2})$"),
)


def parse_when(text: str, now: datetime, tz: str) -> datetime:
    """'2026-11-25 08:00', '11-25 08:00' or '08:00' (today) in the school's time zone, as UTC."""
    local_now = now.astimezone(ZoneInfo(tz))
    cleaned = " ".join(text.strip().replace("：", ":").split())
    for pattern in _WHEN_PATTERNS:
        match = pattern.match(cleaned)
        if match is None:
            continue
        parts = match.groupdict()
        try:
            day = date(
                int(parts.get("y") or local_now.year),
                int(parts.get("m") or local_now.month),
                int(parts.get("d") or local_now.day),
            )
            moment = datetime.combine(day, time(int(parts["H"]), int(parts["M"])), tzinfo=ZoneInfo(tz))
        except ValueError:
            break
        return moment.astimezone(now.tzinfo)
    raise BroadcastError(
        _("I could not read that time. Write it like 2026-11-25 08:00, 11-25 08:00 or 08:00.")
    )


def check_when(at: datetime | None, now: datetime, tz: str) -> None:
    if at is None:
        return
    if at < now - PAST_TOLERANCE:
        raise BroadcastError(
            _("{time} is in the past. Please choose a later time, or send now.").format(
                time=format_moment(at, tz)
            )
        )
    if at > now + MAX_SCHEDULE_AHEAD:
        raise BroadcastError(_("A notice can be scheduled at most 90 days ahead."))


def validate_draft(
    session: Session, sender: Person | None, draft: NoticeDraft, now: datetime, tz: str
) -> None:
    """Everything that can be wrong with a draft, checked before anything is written."""
    try:
        check_target(session, sender, draft.target)
    except TargetError as exc:
        raise BroadcastError(str(exc)) from None
    if draft.base_locale not in LOCALES:
        raise BroadcastError(_("Unknown language {locale}.").format(locale=draft.base_locale))
    if not draft.texts.get(draft.base_locale):
        raise BroadcastError(_("The notice text is empty. Please write what you want to say."))
    for locale, text in draft.texts.items():
        if locale not in LOCALES:
            raise BroadcastError(_("Unknown language {locale}.").format(locale=locale))
        draft.texts[locale] = clean_notice_text(text, locale)
    check_when(draft.at, now, tz)


# --- rendering -----------------------------------------------------------------------------------


def notice_text(
    broadcast: Broadcast, sender_name: str, place: str, locale: str, reminder: bool = False
) -> str:
    """The notice as one recipient reads it, in the current locale (`locale` picks the text version)."""
    body = broadcast.texts.get(locale) or broadcast.texts[broadcast.base_locale]
    lines = [
        _("📢 Reminder: please confirm this notice") if reminder else _("📢 Notice"),
        (
            _("From: {sender}, {place}").format(sender=sender_name, place=place)
            if sender_name
            # The sender's account was removed: name the place only, not an empty "From: , …".
            else _("From: {place}").format(place=place)
        ),
        "",
        body,
    ]
    if broadcast.ack_required:
        lines += ["", _("Please press “Got it” to confirm you have read it.")]
    return "\n".join(lines)


def ack_buttons(broadcast: Broadcast) -> list[list[Button]]:
    if not broadcast.ack_required:
        return []
    return [[Button(_("Got it"), AckNotice(broadcast.id).pack())]]


def _queue_to(
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


# --- creating ------------------------------------------------------------------------------------


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
    if request_key:
        existing = session.scalars(select(Broadcast).where(Broadcast.request_key == request_key)).first()
        if existing is not None:
            raise AlreadySent(
                _("This notice was already sent (notice #{id}). Send /notices to follow it.").format(
                    id=existing.id
                ),
                existing.id,
            )
    tz = target_timezone(session, draft.target, settings.timezone)
    validate_draft(session, sender, draft, now, tz)
    target = draft.target
    recipients = recipients_query(target, exclude_person_id=sender.id).subquery()
    total = session.scalar(select(func.count()).select_from(recipients)) or 0
    if total == 0:
        raise BroadcastError(
            _("Nobody is registered in {target} yet, so there is no one to send to.").format(
                target=target_label(session, target)
            )
        )
    scheduled = draft.at if draft.at is not None and draft.at > now else now
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
        recipient_count=int(total),
        message_count=0,
        tz=tz,
        request_key=request_key,
        created_at=now,
    )
    session.add(broadcast)
    session.flush()
    session.execute(
        insert(BroadcastRecipient).from_select(
            ["broadcast_id", "person_id", "role", "locale"],
            select(literal(broadcast.id), recipients.c.person_id, recipients.c[1], Person.locale).join(
                Person, Person.id == recipients.c.person_id
            ),
        )
    )
    not_before = after_quiet_hours(scheduled, tz, settings.quiet_hours_start, settings.quiet_hours_end)
    broadcast.message_count = _queue_to(
        session,
        broadcast,
        select(BroadcastRecipient.person_id).where(BroadcastRecipient.broadcast_id == broadcast.id),
        kind=NOTICE_KIND,
        not_before=not_before,
        now=now,
        sender_name=sender.name,
        target=target,
    )
    session.add(
        AuditLog(
            at=now,
            actor_person_id=sender.id,
            action="broadcast.create",
            target=target.code(),
            details={
                "broadcast_id": broadcast.id,
                "recipients": int(total),
                "messages": broadcast.message_count,
                "scheduled_at": not_before.isoformat(),
                "ack_required": draft.ack,
                "locales": sorted(draft.texts),
            },
        )
    )
    session.flush()
    return broadcast


# --- reading, cancelling, acknowledging, reminding -----------------------------------------------


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


def send_reminder(
    session: Session, person: Person | None, broadcast_id: int, now: datetime, settings: Settings
) -> int:
    """Queue the one reminder to recipients who have not acknowledged; returns how many people."""
    broadcast = visible_broadcast(session, person, broadcast_id)
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
    waiting = select(BroadcastRecipient.person_id).where(
        BroadcastRecipient.broadcast_id == broadcast.id, BroadcastRecipient.acked_at.is_(None)
    )
    people = session.scalar(select(func.count()).select_from(waiting.subquery())) or 0
    if people == 0:
        raise BroadcastError(
            _("Everyone has confirmed notice #{id}; no reminder is needed.").format(id=broadcast.id)
        )
    sender = session.get(Person, broadcast.sender_person_id) if broadcast.sender_person_id else None
    target = target_of(broadcast)
    not_before = after_quiet_hours(now, broadcast.tz, settings.quiet_hours_start, settings.quiet_hours_end)
    messages = _queue_to(
        session,
        broadcast,
        waiting,
        kind=REMINDER_KIND,
        not_before=not_before,
        now=now,
        sender_name=sender.name if sender else "",
        target=target,
    )
    broadcast.reminded_at = now
    assert person is not None
    session.add(
        AuditLog(
            at=now,
            actor_person_id=person.id,
            action="broadcast.remind",
            target=broadcast.target,
            details={"broadcast_id": broadcast.id, "people": int(people), "messages": messages},
        )
    )
    return int(people)


def recent_broadcasts(session: Session, person: Person, limit: int = 8) -> list[Broadcast]:
    return list(
        session.scalars(
            select(Broadcast)
            .where(Broadcast.sender_person_id == person.id)
            .order_by(Broadcast.created_at.desc(), Broadcast.id.desc())
            .limit(limit)
        )
    )


__all__ = [
    "MAX_NOTICE_CHARS",
    "AlreadySent",
    "BroadcastError",
    "BroadcastScope",
    "NoticeDraft",
    "Report",
    "acknowledge",
    "cancel_broadcast",
    "clean_notice_text",
    "create_broadcast",
    "not_acknowledged",
    "parse_when",
    "recent_broadcasts",
    "report",
    "send_reminder",
    "visible_broadcast",
]
