"""Texts the sender sees about a notice: the preview, the one-line summary and the status with who has
not confirmed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from chatbot.broadcast.service import NoticeDraft, Reminded, not_acknowledged, report, target_of
from chatbot.broadcast.targets import Reach, target_label
from chatbot.config import Settings
from chatbot.delivery.outbox import after_quiet_hours
from chatbot.i18n import LOCALE_NAMES, _, format_moment, format_number
from db.models.broadcast import Broadcast


def preview_text(
    session: Session, draft: NoticeDraft, reach: Reach, tz: str, now: datetime, settings: Settings
) -> str:
    """The notice as it will go out: who gets it (exact count), when, and the text."""
    start_at = draft.at or now
    due = after_quiet_hours(start_at, tz, settings.quiet_hours_start, settings.quiet_hours_end)
    when = _("now") if draft.at is None else format_moment(draft.at, tz)
    if due != start_at:
        when += " " + _("(quiet hours: delivery starts {time})").format(time=format_moment(due, tz))
    lines = [
        _("Please check your notice:"),
        _("To: {target}").format(target=target_label(session, draft.target)),
        _("Recipients: {people} ({parents} parents, {teachers} teachers).").format(
            people=format_number(reach.people),
            parents=format_number(reach.parents),
            teachers=format_number(reach.teachers),
        ),
    ]
    if reach.unreachable:
        lines.append(
            _("{count} of them have not linked a chat account yet and will not receive it.").format(
                count=format_number(reach.unreachable)
            )
        )
    lines += [
        _("When: {when}").format(when=when),
        _("Confirmation required: {answer}").format(answer=_("yes") if draft.ack else _("no")),
        _("Languages: {languages}").format(languages=", ".join(LOCALE_NAMES[loc] for loc in draft.texts)),
        "———",
        draft.texts[draft.base_locale],
    ]
    return "\n".join(lines)


def state_label(broadcast: Broadcast, pending: int, now: datetime) -> str:
    if broadcast.cancelled_at is not None:
        return _("cancelled")
    if broadcast.scheduled_at > now:
        return _("scheduled for {time}").format(time=format_moment(broadcast.scheduled_at, broadcast.tz))
    if pending:
        return _("sending")
    return _("delivered") if broadcast.message_count else _("nobody could be reached on a chat account")


def summary_line(session: Session, broadcast: Broadcast, now: datetime) -> str:
    counts = report(session, broadcast)
    # A row written outside the bot may lack its base text: show an empty quote, do not crash.
    first_line = next(iter((broadcast.texts.get(broadcast.base_locale) or "").splitlines()), "")[:24]
    return _("#{id} {target}: {state} — “{text}”").format(
        id=broadcast.id,
        target=target_label(session, target_of(broadcast)),
        state=state_label(broadcast, counts.pending, now),
        text=first_line,
    )


def status_text(session: Session, broadcast: Broadcast, now: datetime) -> str:
    """Counts, and for notices that need confirmation the names of those who have not confirmed."""
    counts = report(session, broadcast)
    lines = [
        _("Notice #{id} to {target}").format(
            id=broadcast.id, target=target_label(session, target_of(broadcast))
        ),
        _("Status: {state}").format(state=state_label(broadcast, counts.pending, now)),
        _("Recipients: {people}; delivered {delivered}, waiting {pending}, failed {failed}.").format(
            people=format_number(counts.recipients),
            delivered=format_number(counts.delivered),
            pending=format_number(counts.pending),
            failed=format_number(counts.failed),
        ),
    ]
    if counts.stopped:
        lines.append(
            _("{count} recipients were not sent it because the rest was cancelled.").format(
                count=format_number(counts.stopped)
            )
        )
    if counts.unreachable:
        lines.append(
            _("{count} recipients have not linked a chat account yet and cannot receive it.").format(
                count=format_number(counts.unreachable)
            )
        )
    if broadcast.ack_required:
        lines.append(
            _("Confirmed: {acked} of {people}.").format(
                acked=format_number(counts.acknowledged), people=format_number(counts.recipients)
            )
        )
        names, missing = not_acknowledged(session, broadcast)
        if missing:
            shown = "、".join(names)
            more = missing - len(names)
            lines.append(_("Not confirmed yet: {names}").format(names=shown))
            if more > 0:
                lines.append(_("… and {count} more.").format(count=format_number(more)))
        if broadcast.reminded_at is not None:
            lines.append(
                _("Reminder sent on {time}.").format(time=format_moment(broadcast.reminded_at, broadcast.tz))
            )
    return "\n".join(lines)


def queued_text(session: Session, broadcast: Broadcast, due: datetime) -> str:
    """What the sender is told once a notice is created: chat messages queued (outbox rows) for how
    many of the people targeted, from when, and how many of them no message can reach."""
    counts = report(session, broadcast)
    lines = [
        _(
            "Notice #{id}: {messages} chat messages queued for {reached} of {people} people, from {time}."
        ).format(
            id=broadcast.id,
            messages=format_number(counts.messages),
            reached=format_number(counts.recipients - counts.unreachable),
            people=format_number(counts.recipients),
            time=format_moment(due, broadcast.tz),
        )
    ]
    if counts.unreachable:
        lines.append(not_linked_line(counts.unreachable))
    return "\n".join(lines)


def not_linked_line(count: int) -> str:
    return _("{count} people have no chat account linked and will not receive it.").format(
        count=format_number(count)
    )


def reminder_text(broadcast_id: int, done: Reminded) -> str:
    """What a reminder did, from the rows it queued; a reminder that reached nobody says it was not used."""
    if done.messages == 0:
        return "\n".join(
            [
                _(
                    "No reminder was queued for notice #{id}: none of the {count} people who have not "
                    "confirmed has a chat account linked."
                ).format(id=broadcast_id, count=format_number(done.unreachable)),
                _("The one reminder is not used up; you can send it once they link a chat account."),
            ]
        )
    lines = [
        _(
            "Reminder for notice #{id} queued: {messages} chat messages to {people} people who have not confirmed."
        ).format(id=broadcast_id, messages=format_number(done.messages), people=format_number(done.people))
    ]
    if done.unreachable:
        lines.append(
            _(
                "{count} people who have not confirmed have no chat account linked and could not be reminded."
            ).format(count=format_number(done.unreachable))
        )
    return "\n".join(lines)
