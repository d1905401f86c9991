"""The ReminderSent ledger: one row per key, inserted with ON CONFLICT DO NOTHING.

Whoever inserts a key does the work (queues a reminder, runs a scheduler slot); everyone else (a
second scheduler, a restart, a re-run) skips it. Shared by the reminders and the attendance
schedule, so it lives with the calendar tables both of them read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from db.models.calendar import ReminderSent, ReminderStatus

CHUNK = 500


def insert_keys(session: Session, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert ledger rows, skipping keys that exist; returns the keys this call inserted."""
    if not rows:
        return set()
    ordered = sorted(rows, key=lambda r: str(r["key"]))  # one lock order for every process
    table = cast(Table, ReminderSent.__table__)
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # executemany with RETURNING: SQLAlchemy batches it ("insertmanyvalues") with a cached statement.
    stmt = dialect_insert(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.key)
    inserted: set[str] = set()
    for start in range(0, len(ordered), 2000):
        inserted.update(session.execute(stmt, list(ordered[start : start + 2000])).scalars())
    return inserted


def ledger_row(
    key: str,
    rule: str,
    occurrence: str,
    recipient: str,
    status: ReminderStatus,
    due_at: datetime,
    now: datetime,
) -> dict[str, Any]:
    return {
        "key": key,
        "rule": rule,
        "occurrence": occurrence,
        "recipient": recipient,
        "status": status,
        "due_at": due_at,
        "created_at": now,
    }


def existing_keys(session: Session, keys: Iterable[str]) -> set[str]:
    wanted = list(keys)
    found: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        found.update(
            session.scalars(
                select(ReminderSent.key).where(ReminderSent.key.in_(wanted[start : start + CHUNK]))
            )
        )
    return found
