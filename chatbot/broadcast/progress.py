"""Live progress for the sender of a notice, driven by the delivery worker after each batch.

On channels that can edit (Telegram) the sender sees one message updated in place
("通知 #7（共 4,300 人）：已发送 1,200 / 4,122 个聊天账号", then how many people have no chat
account and cannot be reached): each update is an outbox row whose `edit_external_message_id` names the
message sent before. Channels that cannot edit (console, WeChat) only get the final summary, so a
large notice does not flood the sender with messages.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chatbot.delivery.outbox import account_locale, enqueue_or_edit
from chatbot.i18n import _, format_number, use_locale
from db.models import ChannelIdentity, OutboxMessage, OutboxStatus, Person
from db.models.broadcast import Broadcast

PROGRESS_EVERY = timedelta(seconds=5)
PROGRESS_REF = "broadcast_progress"
NOTICE_KIND = "notice"


def after_delivery(
    session: Session, refs: dict[str, set[int]], now: datetime, editable_channels: Collection[str]
) -> None:
    """Called by the worker in the transaction that recorded a batch."""
    for broadcast_id in sorted(refs.get("broadcast", ())):
        update_progress(session, broadcast_id, now, editable_channels)


def _counts(session: Session, broadcast_id: int) -> dict[OutboxStatus, int]:
    rows = session.execute(
        select(OutboxMessage.status, func.count())
        .where(
            OutboxMessage.ref_type == "broadcast",
            OutboxMessage.ref_id == broadcast_id,
            OutboxMessage.kind == NOTICE_KIND,
        )
        .group_by(OutboxMessage.status)
    ).all()
    return {OutboxStatus(status): int(count) for status, count in rows}


def _people_reached(session: Session, broadcast_id: int) -> int:
    """Recipients with at least one notice row: those who had an active chat account when it was queued."""
    return int(
        session.scalar(
            select(func.count(func.distinct(OutboxMessage.person_id))).where(
                OutboxMessage.ref_type == "broadcast",
                OutboxMessage.ref_id == broadcast_id,
                OutboxMessage.kind == NOTICE_KIND,
            )
        )
        or 0
    )


def _anything_left(session: Session, broadcast_id: int) -> bool:
    """An index seek, cheap enough to ask after every batch."""
    return (
        session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.ref_type == "broadcast",
                OutboxMessage.ref_id == broadcast_id,
                OutboxMessage.status.in_((OutboxStatus.QUEUED, OutboxStatus.SENDING)),
                OutboxMessage.kind == NOTICE_KIND,
            )
            .limit(1)
        ).first()
        is not None
    )


def update_progress(
    session: Session, broadcast_id: int, now: datetime, editable_channels: Collection[str]
) -> None:
    # Lock the notice so that of two workers finishing its last rows at once, the later one sees both.
    broadcast = session.scalars(
        select(Broadcast).where(Broadcast.id == broadcast_id).with_for_update()
    ).one_or_none()
    if broadcast is None or broadcast.sender_person_id is None or broadcast.finished_at is not None:
        return
    if (
        broadcast.progress_at is not None
        and now - broadcast.progress_at < PROGRESS_EVERY
        and _anything_left(session, broadcast_id)
    ):
        return
    counts = _counts(session, broadcast_id)
    done = counts.get(OutboxStatus.QUEUED, 0) + counts.get(OutboxStatus.SENDING, 0) == 0
    broadcast.progress_at = now
    if done:
        broadcast.finished_at = now
    unreachable = broadcast.recipient_count - _people_reached(session, broadcast_id)
    sender = session.get(Person, broadcast.sender_person_id)
    accounts = session.scalars(
        select(ChannelIdentity).where(
            ChannelIdentity.person_id == broadcast.sender_person_id, ChannelIdentity.active.is_(True)
        )
    )
    for account in accounts:
        if not done and account.channel not in editable_channels:
            continue
        with use_locale(account_locale(session, account, sender)):
            text = progress_text(broadcast, counts, done, unreachable)
        enqueue_or_edit(
            session,
            account,
            text,
            kind="notice_progress",
            ref=(PROGRESS_REF, broadcast.id),
            tz=broadcast.tz,
            now=now,
        )


def progress_text(broadcast: Broadcast, counts: dict[OutboxStatus, int], done: bool, unreachable: int) -> str:
    """Sent / total in chat accounts (outbox rows), out of the people targeted, and the people no
    message can reach because they have no chat account."""
    sent = counts.get(OutboxStatus.SENT, 0)
    failed = counts.get(OutboxStatus.FAILED, 0)
    stopped = counts.get(OutboxStatus.CANCELLED, 0)
    total = sum(counts.values()) - stopped
    numbers = {
        "id": broadcast.id,
        "people": format_number(broadcast.recipient_count),
        "sent": format_number(sent),
        "total": format_number(total),
        "failed": format_number(failed),
    }
    if not done:
        lines = [_("Notice #{id} ({people} people): sent {sent} / {total} chat accounts").format(**numbers)]
    else:
        lines = [
            _(
                "Notice #{id} ({people} people) finished: sent {sent} / {total} chat accounts, failed {failed}."
            ).format(**numbers)
        ]
    if stopped:
        lines.append(
            _("{count} chat messages were not sent because the rest was cancelled.").format(
                count=format_number(stopped)
            )
        )
    if unreachable:
        lines.append(
            _("{count} people cannot be reached: no chat account linked.").format(
                count=format_number(unreachable)
            )
        )
    if done and broadcast.ack_required:
        lines.append(_("Send /notices to see who has confirmed and to remind the others."))
    return "\n".join(lines)
