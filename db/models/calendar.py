"""Calendar and reminder tables (owned by the calendar/reminders domain).

- CalendarEntry: a term, a vacation, a day off or an extra school day, for a whole region or one school.
- OfficialDayEntry: a day of the State Council's holiday arrangement for a year, imported by an operator
  (a day off with its holiday, or a make-up working day, 调休). It overrides the holiday libraries for
  that whole year.
- ReminderSent: the idempotency ledger. One row per (rule, occurrence, recipient) key, written in the
  same transaction as the outbox rows it caused, so a reminder is queued exactly once however many
  schedulers run and however often. Scheduler slots (daily close, nudges, escalation) use it too.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UTCDateTime
from db.models.core import _enum


class CalendarKind(enum.StrEnum):
    TERM = "term"
    VACATION = "vacation"
    DAY_OFF = "day_off"
    SCHOOL_DAY = "school_day"


class CalendarEntry(Base):
    __tablename__ = "calendar_entry"
    __table_args__ = (Index("ix_calendar_entry_region_first", "region_id", "first_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="CASCADE"))
    # NULL: the whole region; otherwise this school only (overrides the region's entry of the same name).
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id", ondelete="CASCADE"), index=True)
    kind: Mapped[CalendarKind] = mapped_column(_enum(CalendarKind, "calendar_kind"))
    # For terms and vacations: autumn, spring, winter, summer (or a free label); free text otherwise.
    name: Mapped[str] = mapped_column(String(64), default="")
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OfficialDayEntry(Base):
    __tablename__ = "official_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    # True: a make-up working day (调休); False: a day off of `holiday`.
    workday: Mapped[bool] = mapped_column(Boolean)
    holiday: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReminderStatus(enum.StrEnum):
    QUEUED = "queued"
    MISSED = "missed"
    DONE = "done"


class ReminderSent(Base):
    __tablename__ = "reminder_sent"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    rule: Mapped[str] = mapped_column(String(32), index=True)
    occurrence: Mapped[str] = mapped_column(String(100))
    recipient: Mapped[str] = mapped_column(String(40))
    status: Mapped[ReminderStatus] = mapped_column(_enum(ReminderStatus, "reminder_status"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


__all__ = ["CalendarEntry", "CalendarKind", "OfficialDayEntry", "ReminderSent", "ReminderStatus"]
