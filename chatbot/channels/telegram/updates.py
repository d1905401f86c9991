"""Each Telegram update is handled once: its `update_id` is claimed in `processed_update` (the table
WeChat's callbacks use), so an update Telegram delivers again (after a crash before the offset was
confirmed, or a webhook retried) gets no second answer, across restarts too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from chatbot.channels.telegram import CHANNEL
from db.models import ProcessedUpdate
from db.session import transaction

# Telegram keeps an unconfirmed update for 24 hours; keys a little older than that can go.
DEDUPE_KEEP = timedelta(days=2)


def update_key(update_id: int) -> str:
    return f"update:{update_id}"


def claim(factory: sessionmaker[Session], update_id: int, now: datetime) -> bool:
    """True the first time this update is seen, False for a redelivery."""
    try:
        with transaction(factory) as session:
            session.add(ProcessedUpdate(channel=CHANNEL, key=update_key(update_id), at=now, reply=None))
        return True
    except IntegrityError:
        return False


def purge(factory: sessionmaker[Session], now: datetime) -> int:
    """Forget update ids older than DEDUPE_KEEP; returns how many."""
    with transaction(factory) as session:
        result = session.execute(
            delete(ProcessedUpdate).where(
                ProcessedUpdate.channel == CHANNEL, ProcessedUpdate.at < now - DEDUPE_KEEP
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)
