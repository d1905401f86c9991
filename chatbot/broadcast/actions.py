"""Stateless buttons of the broadcast domain: Send (from the preview), Got it, status, remind, cancel.

Every press is re-authorized: only a recipient may acknowledge, only the sender (or someone who may
broadcast to the same target) may see, remind or cancel.
"""

from __future__ import annotations

from sqlalchemy import select

from chatbot.broadcast.notice_flow import take_previewed_draft
from chatbot.broadcast.payloads import AckNotice, NoticeCancel, NoticeGo, NoticeRemind, NoticeStatus
from chatbot.broadcast.service import (
    BroadcastError,
    acknowledge,
    cancel_broadcast,
    create_broadcast,
    report,
    send_reminder,
    visible_broadcast,
)
from chatbot.broadcast.views import queued_text, reminder_text, status_text
from chatbot.core.context import Context
from chatbot.core.flow import Action
from chatbot.core.messages import Button, Incoming, Reply
from chatbot.core.router import deny_reply
from chatbot.delivery.outbox import after_quiet_hours
from chatbot.i18n import _, format_number
from db.models.broadcast import Broadcast, BroadcastStatus


def on_send(ctx: Context, msg: Incoming) -> list[Reply]:
    """Create the previewed notice once; a repeated press says it was already sent."""
    go = NoticeGo.unpack(msg.payload)
    if ctx.person is None:
        return [deny_reply(ctx)]
    existing = ctx.session.scalars(select(Broadcast).where(Broadcast.request_key == go.key)).first()
    if existing is not None:
        return [
            Reply(
                _("This notice was already sent (notice #{id}). Send /notices to follow it.").format(
                    id=existing.id
                )
            )
        ]
    draft = take_previewed_draft(ctx, go.key)
    if draft is None:
        return [Reply(_("This preview has expired. Send /notice to start again."))]
    try:
        broadcast = create_broadcast(
            ctx.session, ctx.person, draft, now=ctx.now, settings=ctx.settings, request_key=go.key
        )
    except BroadcastError as exc:
        return [Reply(str(exc) + "\n" + _("Nothing was sent. Send /notice to start again."))]
    due = after_quiet_hours(
        broadcast.scheduled_at, broadcast.tz, ctx.settings.quiet_hours_start, ctx.settings.quiet_hours_end
    )
    text = queued_text(ctx.session, broadcast, due)
    if broadcast.scheduled_at > ctx.now:
        text += "\n" + _("Send /notices to cancel it before then.")
    return [Reply(text, [[Button(_("Status"), NoticeStatus(broadcast.id).pack())]])]


def on_ack(ctx: Context, msg: Incoming) -> list[Reply]:
    """“Got it”: record the confirmation of this recipient."""
    ack = AckNotice.unpack(msg.payload)
    if ctx.person is None:
        return [deny_reply(ctx)]
    try:
        first = acknowledge(ctx.session, ctx.person, ack.broadcast_id, ctx.now)
    except BroadcastError as exc:
        return [Reply(str(exc))]
    if first:
        return [Reply(_("Thank you, your confirmation was recorded."))]
    return [Reply(_("You already confirmed this notice. Thank you."))]


def status_reply(ctx: Context, broadcast_id: int) -> Reply:
    broadcast = visible_broadcast(ctx.session, ctx.person, broadcast_id)
    counts = report(ctx.session, broadcast)
    rows = [[Button(_("Refresh"), NoticeStatus(broadcast.id).pack())]]
    if (
        broadcast.ack_required
        and broadcast.reminded_at is None
        and broadcast.status == BroadcastStatus.ACTIVE
        and broadcast.scheduled_at <= ctx.now
        and counts.acknowledged < counts.recipients
    ):
        rows.append(
            [
                Button(
                    _("Remind the {count} who have not confirmed").format(
                        count=format_number(counts.recipients - counts.acknowledged)
                    ),
                    NoticeRemind(broadcast.id).pack(),
                )
            ]
        )
    if broadcast.status == BroadcastStatus.ACTIVE and counts.pending:
        rows.append([Button(_("Cancel the rest"), NoticeCancel(broadcast.id).pack())])
    return Reply(status_text(ctx.session, broadcast, ctx.now), rows)


def on_status(ctx: Context, msg: Incoming) -> list[Reply]:
    """Counts and who has not confirmed, with Remind / Cancel buttons when they apply."""
    pressed = NoticeStatus.unpack(msg.payload)
    try:
        return [status_reply(ctx, pressed.broadcast_id)]
    except BroadcastError as exc:
        return [Reply(str(exc))]


def on_remind(ctx: Context, msg: Incoming) -> list[Reply]:
    """Queue the one reminder to those who have not confirmed."""
    pressed = NoticeRemind.unpack(msg.payload)
    try:
        done = send_reminder(ctx.session, ctx.person, pressed.broadcast_id, ctx.now, ctx.settings)
    except BroadcastError as exc:
        return [Reply(str(exc))]
    return [Reply(reminder_text(pressed.broadcast_id, done))]


def on_cancel(ctx: Context, msg: Incoming) -> list[Reply]:
    """Stop every message of the notice that has not gone out yet."""
    pressed = NoticeCancel.unpack(msg.payload)
    try:
        stopped = cancel_broadcast(ctx.session, ctx.person, pressed.broadcast_id, ctx.now)
    except BroadcastError as exc:
        return [Reply(str(exc))]
    return [
        Reply(
            _("Notice #{id} cancelled: {count} messages will not be sent.").format(
                id=pressed.broadcast_id, count=format_number(stopped)
            )
        )
    ]


ACTIONS = [
    Action(NoticeGo.prefix, on_send),
    Action(AckNotice.prefix, on_ack),
    Action(NoticeStatus.prefix, on_status),
    Action(NoticeRemind.prefix, on_remind),
    Action(NoticeCancel.prefix, on_cancel),
]
