"""Attendance tables (owned by the attendance domain): roll-calls, exceptions, leave, dropout cases.

Only exceptions are stored per pupil: a submitted RollCall for (class, day) means every pupil of
the class without an AttendanceRecord that day was present. That keeps a prefecture's daily
volume at a few thousand rows instead of 300,000.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, UTCDateTime
from db.models.core import Student, _enum


class Mark(enum.StrEnum):
    """A pupil's state on one day; present pupils have no row at all."""

    ABSENT = "absent"  # unexplained
    SICK = "sick"
    PERSONAL = "personal"
    LATE = "late"


class MarkSource(enum.StrEnum):
    ROLLCALL = "rollcall"
    LEAVE = "leave"
    GUARDIAN = "guardian"


class GuardianAnswer(enum.StrEnum):
    SICK = "sick"
    PERSONAL = "personal"
    UNKNOWN = "unknown"
    ON_THE_WAY = "on_the_way"


class LeaveKind(enum.StrEnum):
    SICK = "sick"
    PERSONAL = "personal"


class LeaveStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class CaseStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CaseTrigger(enum.StrEnum):
    CONSECUTIVE = "consecutive"
    RATE = "rate"


class CaseLevel(enum.IntEnum):
    """双线三级 on the school line: 班主任包学生, 校长包班级, then the county bureau."""

    CLASS_TEACHER = 0
    PRINCIPAL = 1
    COUNTY = 2


class CaseEventKind(enum.StrEnum):
    OPENED = "opened"
    ESCALATED = "escalated"
    CONTACTED = "contacted"
    HOME_VISIT = "home_visit"
    RETURNED = "returned"
    NOT_DROPOUT = "not_dropout"
    DROPOUT_REPORTED = "dropout_reported"


class NotDropoutReason(enum.StrEnum):
    """The seven situations that are not dropping out (seed 002, D4)."""

    UNDER_AGE_OR_DEFERRED = "under_age_or_deferred"
    AGED_OR_GRADUATED = "aged_or_graduated"
    ON_LEAVE_OR_SUSPENDED = "on_leave_or_suspended"
    HOME_TEACHING = "home_teaching"
    UNABLE_TO_STUDY = "unable_to_study"
    MISSING = "missing"
    STUDYING_ELSEWHERE = "studying_elsewhere"


class RollCall(Base):
    __tablename__ = "roll_call"
    __table_args__ = (
        UniqueConstraint("class_id", "day"),
        Index("ix_roll_call_school_day", "school_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("school_class.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    after_cutoff: Mapped[bool] = mapped_column(Boolean, default=False)


class AttendanceRecord(Base):
    __tablename__ = "attendance_record"
    __table_args__ = (
        UniqueConstraint("student_id", "day"),
        Index("ix_attendance_record_class_day", "class_id", "day"),
        Index("ix_attendance_record_school_day_status", "school_id", "day", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"))
    class_id: Mapped[int] = mapped_column(ForeignKey("school_class.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[Mark] = mapped_column(_enum(Mark, "attendance_mark"))
    source: Mapped[MarkSource] = mapped_column(_enum(MarkSource, "attendance_source"))
    reason: Mapped[str | None] = mapped_column(String(200))
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    leave_id: Mapped[int | None] = mapped_column(ForeignKey("leave_request.id", ondelete="SET NULL"))
    # Set when a daily close has processed this absence (alerts sent, triggers evaluated): idempotency.
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    guardian_answer: Mapped[GuardianAnswer | None] = mapped_column(
        _enum(GuardianAnswer, "guardian_answer"), nullable=True
    )
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LeaveRequest(Base):
    __tablename__ = "leave_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    kind: Mapped[LeaveKind] = mapped_column(_enum(LeaveKind, "leave_kind"))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[LeaveStatus] = mapped_column(
        _enum(LeaveStatus, "leave_status"), default=LeaveStatus.PENDING
    )
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why a request was refused, told to the guardian.
    decision_note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DropoutCase(Base):
    """One row of the 控辍保学台账: a pupil at risk, who answers for it, and how it ended."""

    __tablename__ = "dropout_case"
    __table_args__ = (
        # At most one open case per pupil, enforced by the database on both backends.
        Index(
            "uq_dropout_case_open_student",
            "student_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_dropout_case_school_status", "school_id", "status"),
        Index("ix_dropout_case_region_status", "region_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"), index=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("school_class.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="CASCADE"))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="CASCADE"))
    trigger: Mapped[CaseTrigger] = mapped_column(_enum(CaseTrigger, "case_trigger"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus, "case_status"), default=CaseStatus.OPEN)
    level: Mapped[int] = mapped_column(Integer, default=CaseLevel.CLASS_TEACHER)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    opened_on: Mapped[date] = mapped_column(Date)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The local day of the last action or escalation: escalation counts school days from here.
    last_activity_on: Mapped[date] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[CaseEventKind | None] = mapped_column(_enum(CaseEventKind, "case_outcome"), nullable=True)
    not_dropout_reason: Mapped[NotDropoutReason | None] = mapped_column(
        _enum(NotDropoutReason, "not_dropout_reason"), nullable=True
    )

    student: Mapped[Student] = relationship()


class CaseEvent(Base):
    """The 劝返 ledger: who did what and when."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("dropout_case.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    kind: Mapped[CaseEventKind] = mapped_column(_enum(CaseEventKind, "case_event_kind"))
    note: Mapped[str | None] = mapped_column(Text)
    level: Mapped[int] = mapped_column(Integer, default=0)


__all__ = [
    "AttendanceRecord",
    "CaseEvent",
    "CaseEventKind",
    "CaseLevel",
    "CaseStatus",
    "CaseTrigger",
    "DropoutCase",
    "GuardianAnswer",
    "LeaveKind",
    "LeaveRequest",
    "LeaveStatus",
    "Mark",
    "MarkSource",
    "NotDropoutReason",
    "RollCall",
]
