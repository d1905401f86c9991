"""broadcast tables (owned by the broadcast domain): notices and who they went to."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UTCDateTime
from db.models.core import _enum


class BroadcastScope(enum.StrEnum):
    REGION = "region"
    SCHOOL = "school"
    GRADE = "grade"
    CLASS = "class"


class Audience(enum.StrEnum):
    PARENTS = "parents"
    TEACHERS = "teachers"
    BOTH = "both"


class BroadcastStatus(enum.StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


class Broadcast(Base):
    """One notice: its texts per locale, its target and schedule; delivery lives in the outbox."""

    __tablename__ = "broadcast"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    scope_type: Mapped[BroadcastScope] = mapped_column(_enum(BroadcastScope, "broadcast_scope"))
    # Region, school or class id; for a grade it is the school id and `grade` names the grade.
    scope_id: Mapped[int] = mapped_column(Integer)
    grade: Mapped[int | None] = mapped_column(Integer)
    audience: Mapped[Audience] = mapped_column(_enum(Audience, "broadcast_audience"))
    target: Mapped[str] = mapped_column(String(64))
    texts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    base_locale: Mapped[str] = mapped_column(String(16))
    ack_required: Mapped[bool] = mapped_column(Boolean, default=False)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[BroadcastStatus] = mapped_column(
        _enum(BroadcastStatus, "broadcast_status"), default=BroadcastStatus.ACTIVE
    )
    recipient_count: Mapped[int] = mapped_column(Integer, default=0)
    # Chat accounts the notice was queued to (a person may have several, or none yet).
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    tz: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # One confirmation creates one broadcast: a repeated confirm finds this key and stops.
    request_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BroadcastRecipient(Base):
    """A person a notice is for, and whether they acknowledged it."""

    __tablename__ = "broadcast_recipient"
    __table_args__ = (Index("ix_broadcast_recipient_ack", "broadcast_id", "acked_at"),)

    broadcast_id: Mapped[int] = mapped_column(
        ForeignKey("broadcast.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str | None] = mapped_column(String(16))
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


__all__ = ["Audience", "Broadcast", "BroadcastRecipient", "BroadcastScope", "BroadcastStatus"]
