"""Messages held for a reply: a row that reached its account only as a summary keeps its full text
here, in the outbox, until the recipient writes again (WeChat's late replies).

The worker never claims these rows (their status is `awaiting_reply`); chatbot.delivery.outbox
re-exports these names.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import ChannelIdentity, OutboxMessage, OutboxStatus, Priority

HELD_REF = "held_for_reply"


def hold_for_reply(
    session: Session,
    account: ChannelIdentity,
    *,
    kind: str,
    text: str,
    buttons: list[Any],
    sent_row: int,
    now: datetime,
) -> None:
    """Outbox row `sent_row` reached `account` only as a summary: keep its full text in the outbox,
    awaiting the recipient's next message (whose reply carries it). The worker never claims it."""
    session.add(
        OutboxMessage(
            identity_id=account.id,
            person_id=account.person_id,
            channel=account.channel,
            kind=kind,
            text=text,
            buttons=buttons,
            priority=int(Priority.NORMAL),
            not_before=now,
            status=OutboxStatus.AWAITING_REPLY,
            attempts=0,
            ref_type=HELD_REF,
            ref_id=sent_row,
            created_at=now,
        )
    )


def take_held_for_reply(
    session: Session, identity_id: int, now: datetime, *, keep: timedelta, most: int
) -> tuple[list[OutboxMessage], int]:
    """The messages awaiting this account's reply: the newest `most` of those younger than `keep`
    (marked sent: the caller's reply carries them), and how many others were dropped (cancelled)."""
    rows = list(
        session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.identity_id == identity_id, OutboxMessage.status == OutboxStatus.AWAITING_REPLY
            )
            .order_by(OutboxMessage.id)
        )
    )
    fresh = [row for row in rows if row.created_at >= now - keep]
    shown = fresh[-most:] if most > 0 else []
    carried = {row.id for row in shown}
    for row in rows:
        row.status = OutboxStatus.SENT if row.id in carried else OutboxStatus.CANCELLED
        row.sent_at = now if row.id in carried else None
    return shown, len(rows) - len(shown)


__all__ = ["HELD_REF", "hold_for_reply", "take_held_for_reply"]
