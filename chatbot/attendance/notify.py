"""Queueing many outbox messages at once for the batch jobs (daily close, escalation).

Same contract as `chatbot.delivery.outbox.enqueue_for_person` — one row per active chat account,
rendered in that account's language, `dedupe_key|identity` unique, urgent rows skip quiet hours —
but with one query for the accounts, one for the existing keys and one bulk insert, instead of
a few queries per recipient. Chat flows that notify one person use `enqueue_for_person` directly.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
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
    if rows and session.get_bind().dialect.name == "postgresql" and _copy_rows(session, rows):
        return len(rows)
    # A Core insert of the table (not the ORM bulk path): plain executemany, a third of the cost.
    table = cast(Table, OutboxMessage.__table__)
    for start in range(0, len(rows), 2000):
        session.execute(insert(table), rows[start : start + 2000])
    return len(rows)


def _copy_rows(session: Session, rows: list[dict[str, Any]]) -> bool:
    """COPY the rows into the outbox inside the session's transaction (PostgreSQL); False if the
    table has a required column this module does not know how to fill (then the caller inserts)."""
    table = OutboxMessage.__table__
    columns = [c for c in table.columns if c.name != "id"]
    defaults: dict[str, Any] = {}
    for column in columns:
        if column.name in rows[0] or column.nullable:
            continue
        if column.default is None or not column.default.is_scalar:
            return False
        defaults[column.name] = getattr(column.default, "arg", None)
    # Only the columns that are present (or required) are copied; the rest stay NULL.
    names = [c.name for c in columns if c.name in rows[0] or c.name in defaults]
    driver = session.connection().connection.driver_connection
    statement = f"COPY {OutboxMessage.__tablename__} ({', '.join(names)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row([_plain(row[name] if name in row else defaults[name]) for name in names])
    return True


def _plain(value: Any) -> Any:
    """What the column types would bind: naive UTC datetimes, JSON text, enum values."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, enum.Enum):
        return value.value
    return value
