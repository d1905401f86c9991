"""Organisation, people, channel identities, invites, dialog state and the audit log."""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, UTCDateTime


class Role(enum.StrEnum):
    """A person's role within a scope; guardianship lives in Guardian, not here."""

    CLASS_TEACHER = "class_teacher"
    TEACHER = "teacher"
    PRINCIPAL = "principal"
    COUNTY_ADMIN = "county_admin"


class ScopeType(enum.StrEnum):
    REGION = "region"
    SCHOOL = "school"
    CLASS = "class"


class Stage(enum.StrEnum):
    PRESCHOOL = "preschool"
    PRIMARY = "primary"
    JUNIOR = "junior"
    SENIOR = "senior"
    SECONDARY_VOCATIONAL = "secondary_vocational"
    HIGHER_VOCATIONAL = "higher_vocational"
    UNDERGRADUATE = "undergraduate"
    POSTGRADUATE = "postgraduate"


class Enrolment(enum.StrEnum):
    """Where a pupil stands with the school. Only ENROLLED pupils are in roll-calls, alerts and rates."""

    ENROLLED = "enrolled"  # 在读
    SUSPENDED = "suspended"  # 休学
    TRANSFERRED = "transferred"  # 转学
    GRADUATED = "graduated"  # 毕业
    DROPPED_OUT = "dropped_out"  # 辍学


HOUSEHOLD_FLAGS = ("registered_poor", "dibao", "tekun", "orphan", "disabled")


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Plain VARCHAR + CHECK on both databases: no PostgreSQL ENUM type to migrate later.
    return Enum(cls, name=name, native_enum=False, values_callable=lambda e: [m.value for m in e], length=32)


class Region(Base):
    __tablename__ = "region"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    aid_pack: Mapped[str | None] = mapped_column(String(64))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    schools: Mapped[list[School]] = relationship(back_populates="region")


class School(Base):
    __tablename__ = "school"
    __table_args__ = (UniqueConstraint("region_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    stage: Mapped[Stage] = mapped_column(_enum(Stage, "stage"), default=Stage.PRIMARY)
    timezone: Mapped[str | None] = mapped_column(String(64))
    rollcall_cutoff: Mapped[time] = mapped_column(Time, default=time(10, 0))

    region: Mapped[Region] = relationship(back_populates="schools")
    classes: Mapped[list[SchoolClass]] = relationship(back_populates="school")

    @property
    def tz(self) -> str:
        return self.timezone or self.region.timezone


class SchoolClass(Base):
    __tablename__ = "school_class"
    __table_args__ = (UniqueConstraint("school_id", "grade", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="RESTRICT"), index=True)
    grade: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    class_teacher_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))

    school: Mapped[School] = relationship(back_populates="classes")
    students: Mapped[list[Student]] = relationship(back_populates="school_class")
    class_teacher: Mapped[Person | None] = relationship()


class Student(Base):
    __tablename__ = "student"
    __table_args__ = (UniqueConstraint("school_id", "student_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="RESTRICT"), index=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("school_class.id", ondelete="RESTRICT"), index=True)
    student_no: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    gender: Mapped[str | None] = mapped_column(String(8))
    boarding: Mapped[bool] = mapped_column(Boolean, default=False)
    # A list drawn from HOUSEHOLD_FLAGS; JSON keeps it portable across both databases.
    household: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Kept equal to `enrolment == ENROLLED` by chatbot.people.enrolment: every pupil list filters on it.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    enrolment: Mapped[Enrolment] = mapped_column(
        _enum(Enrolment, "enrolment"), default=Enrolment.ENROLLED, server_default=Enrolment.ENROLLED.value
    )
    enrolment_since: Mapped[date | None] = mapped_column(Date)

    school_class: Mapped[SchoolClass] = relationship(back_populates="students")
    guardians: Mapped[list[Guardian]] = relationship(back_populates="student")


class EnrolmentChange(Base):
    """The history of a pupil's enrolment: who set which status, from which day, and why."""

    __tablename__ = "enrolment_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"), index=True)
    enrolment: Mapped[Enrolment] = mapped_column(_enum(Enrolment, "enrolment"))
    since: Mapped[date] = mapped_column(Date)
    # "case" (a case's closing reason), "roster" (the roster import) or "chat" (staff in chat).
    source: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(200))
    set_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    locale: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    memberships: Mapped[list[Membership]] = relationship(back_populates="person")
    wards: Mapped[list[Guardian]] = relationship(back_populates="person")
    identities: Mapped[list[ChannelIdentity]] = relationship(back_populates="person")


class Membership(Base):
    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("person_id", "role", "scope_type", "scope_id"),
        Index("ix_membership_scope", "scope_type", "scope_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    scope_type: Mapped[ScopeType] = mapped_column(_enum(ScopeType, "scope_type"))
    scope_id: Mapped[int] = mapped_column(Integer)

    person: Mapped[Person] = relationship(back_populates="memberships")


class Guardian(Base):
    __tablename__ = "guardian"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    student_id: Mapped[int] = mapped_column(
        ForeignKey("student.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    relation: Mapped[str | None] = mapped_column(String(32))

    person: Mapped[Person] = relationship(back_populates="wards")
    student: Mapped[Student] = relationship(back_populates="guardians")


class ChannelIdentity(Base):
    """One chat account on one channel; bound to a person once an invite code is accepted."""

    __tablename__ = "channel_identity"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), index=True)
    locale: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_codes: Mapped[int] = mapped_column(Integer, default=0)
    failed_window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Buttons last shown as numbered options, so "1" can be mapped back to a payload.
    last_buttons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    person: Mapped[Person | None] = relationship(back_populates="identities")


class InviteCode(Base):
    __tablename__ = "invite_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(128), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    # What the code grants, recorded for the operator's CSV and the audit trail.
    role: Mapped[str] = mapped_column(String(32))
    scope_type: Mapped[str | None] = mapped_column(String(16))
    scope_id: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by_identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("channel_identity.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DialogState(Base):
    __tablename__ = "dialog_state"

    identity_id: Mapped[int] = mapped_column(
        ForeignKey("channel_identity.id", ondelete="CASCADE"), primary_key=True
    )
    flow: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ProcessedUpdate(Base):
    """Inbound de-duplication key per channel (WeChat retries, Telegram redeliveries)."""

    __tablename__ = "processed_update"
    __table_args__ = (UniqueConstraint("channel", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    reply: Mapped[str | None] = mapped_column(Text)


__all__ = [
    "HOUSEHOLD_FLAGS",
    "AuditLog",
    "ChannelIdentity",
    "DialogState",
    "Enrolment",
    "EnrolmentChange",
    "Guardian",
    "InviteCode",
    "Membership",
    "Person",
    "ProcessedUpdate",
    "Region",
    "Role",
    "School",
    "SchoolClass",
    "ScopeType",
    "Stage",
    "Student",
    "date",
]
