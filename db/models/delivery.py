"""The outbox: every message the bot sends on its own initiative is a row here first."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UTCDateTime
from db.models.core import _enum


class OutboxStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # Sent as a short summary (WeChat, outside its 48-hour window); the full text goes with the
    # reply to the recipient's next message. The worker never claims these.
    AWAITING_REPLY = "awaiting_reply"


class Priority(enum.IntEnum):
    """Lower drains first: alerts before reminders before bulk notices."""

    URGENT = 0
    NORMAL = 10
    BULK = 20


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_drain", "status", "priority", "not_before", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(
        ForeignKey("channel_identity.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    priority: Mapped[int] = mapped_column(Integer, default=Priority.NORMAL)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[OutboxStatus] = mapped_column(
        _enum(OutboxStatus, "outbox_status"), default=OutboxStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    external_message_id: Mapped[str | None] = mapped_column(String(128))
    # Set on a row that replaces an earlier message in place (broadcast progress); channels that
    # cannot edit send it as a new message.
    edit_external_message_id: Mapped[str | None] = mapped_column(String(128))
    # Idempotency for alerts and reminders: the same event never queues twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # Links a row back to what caused it (a broadcast id, a case id...), for progress and cancelling.
    ref_type: Mapped[str | None] = mapped_column(String(32))
    ref_id: Mapped[int | None] = mapped_column(Integer)
    tz: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


Index("ix_outbox_ref", OutboxMessage.ref_type, OutboxMessage.ref_id)
# Progress and "anything left?" questions per broadcast become index seeks instead of scans.
Index("ix_outbox_ref_status", OutboxMessage.ref_type, OutboxMessage.ref_id, OutboxMessage.status)

__all__ = ["OutboxMessage", "OutboxStatus", "Priority"]
