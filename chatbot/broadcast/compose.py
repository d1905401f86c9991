"""Composing a notice: the draft, its checks (text, time, target, languages) and how a recipient reads it.

Everything here runs before anything is written, so a refused draft leaves no trace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from chatbot.broadcast.payloads import AckNotice
from chatbot.broadcast.targets import NoticeTarget, TargetError, check_target
from chatbot.core.messages import Button
from chatbot.i18n import DEFAULT_LOCALE, LOCALE_NAMES, LOCALES, _, format_moment, format_number
from db.models import Person
from db.models.broadcast import Broadcast

# Short enough for one WeChat customer-service message and one Telegram message, in any script.
MAX_NOTICE_CHARS = 1000
MAX_SCHEDULE_AHEAD = timedelta(days=90)
# A "now" a minute old still counts as now (the preview took a while).
PAST_TOLERANCE = timedelta(minutes=1)


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
