"""Queueing many outbox messages at once for the batch jobs (daily close, escalation).

Same contract as `chatbot.delivery.outbox.enqueue_for_person` — one row per active chat account,
rendered in that account's language, `dedupe_key|identity` unique, urgent rows skip quiet hours —
but with one query for the accounts, one for the existing keys and one bulk insert, instead of
a few queries per recipient. Chat flows that notify one person use `enqueue_for_person` directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from chatbot.attendance.service import chunks
from chatbot.core.messages import Reply, buttons_to_json
from chatbot.delivery.outbox import after_quiet_hours
from chatbot.i18n import DEFAULT_LOCALE, use_locale
from db.models import ChannelIdentity, OutboxMessage, OutboxStatus, Person, Priority


@dataclass(frozen=True)
class Outgoing:
    person_id: int
    render: Callable[[], Reply]
    kind: str
    dedupe_key: str
    tz: str = "Asia/Shanghai"
    priority: Priority = Priority.URGENT
    ref: tuple[str, int] | None = None


def enqueue_many(session: Session, items: list[Outgoing], now: datetime) -> int:
    """Queue every item to each of its person's active accounts; returns rows written."""
    if not items:
        return 0
    person_ids = sorted({item.person_id for item in items})
    accounts: dict[int, list[tuple[int, str, str]]] = {}
    for chunk in chunks(person_ids):
        for identity_id, person_id, channel, locale, person_locale in session.execute(
            select(
                ChannelIdentity.id,
                ChannelIdentity.person_id,
                ChannelIdentity.channel,
                ChannelIdentity.locale,
                Person.locale,
            )
            .join(Person, Person.id == ChannelIdentity.person_id)
            .where(ChannelIdentity.person_id.in_(chunk), ChannelIdentity.active.is_(True))
        ):
            assert person_id is not None
            accounts.setdefault(person_id, []).append(
                (identity_id, channel, locale or person_locale or DEFAULT_LOCALE)
            )
    wanted = [
        (item, identity_id, channel, locale, f"{item.dedupe_key}|{identity_id}")
        for item in items
        for identity_id, channel, locale in accounts.get(item.person_id, [])
    ]
    keys = [key for *_, key in wanted]
    taken: set[str] = set()
    for chunk in chunks(keys):
        taken.update(
            session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(chunk)))
        )
    rows: list[dict[str, Any]] = []
    for item, identity_id, channel, locale, key in wanted:
        if key in taken:
            continue
        taken.add(key)
        with use_locale(locale):
            reply = item.render()
        due = now if item.priority == Priority.URGENT else after_quiet_hours(now, item.tz)
        rows.append(
            {
                "identity_id": identity_id,
                "person_id": item.person_id,
                "channel": channel,
                "kind": item.kind,
                "text": reply.text,
                "buttons": buttons_to_json(reply.buttons),
                "priority": int(item.priority),
                "not_before": due,
                "status": OutboxStatus.QUEUED,
                "attempts": 0,
                "dedupe_key": key,
                "ref_type": item.ref[0] if item.ref else None,
                "ref_id": item.ref[1] if item.ref else None,
                "tz": item.tz,
                "created_at": now,
            }
        )
    for start in range(0, len(rows), 2000):
        session.execute(insert(OutboxMessage), rows[start : start + 2000])
    return len(rows)
