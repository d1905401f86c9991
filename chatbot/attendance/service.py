"""Roll-call and leave: the rules, independent of any chat (flows and CLI call these).

Time is explicit: every function takes `now` (aware UTC) and/or a local `day`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from chatbot.attendance.rules import DEFAULT_CUTOFF
from chatbot.calendar.service import is_school_day, school_days
from chatbot.people.auth import Act, Target, can
from db.models import Membership, Person, Role, School, SchoolClass, ScopeType, Student
from db.models.attendance import (
    AttendanceRecord,
    LeaveKind,
    LeaveRequest,
    LeaveStatus,
    Mark,
    MarkSource,
    RollCall,
)

# Tapping a pupil cycles through these, starting from present.
CYCLE: tuple[Mark | None, ...] = (None, Mark.ABSENT, Mark.SICK, Mark.PERSONAL, Mark.LATE)
MAX_LEAVE_DAYS = 31


def next_mark(current: Mark | None) -> Mark | None:
    """present → absent → sick leave → personal leave → late → present."""
    return CYCLE[(CYCLE.index(current) + 1) % len(CYCLE)]


def school_tz(school: School) -> ZoneInfo:
    return ZoneInfo(school.tz)


def local_day(school: School, now: datetime) -> date:
    return now.astimezone(school_tz(school)).date()


def cutoff_at(school: School, day: date) -> datetime:
    """The school's roll-call cutoff on `day`, as an aware datetime."""
    return datetime.combine(day, school.rollcall_cutoff or DEFAULT_CUTOFF, tzinfo=school_tz(school))


def is_class_teacher(session: Session, person: Person | None, klass: SchoolClass) -> bool:
    if person is None:
        return False
    if klass.class_teacher_id == person.id:
        return True
    return (
        session.scalars(
            select(Membership.id).where(
                Membership.person_id == person.id,
                Membership.role == Role.CLASS_TEACHER,
                Membership.scope_type == ScopeType.CLASS,
                Membership.scope_id == klass.id,
            )
        ).first()
        is not None
    )


def roster(session: Session, class_id: int) -> list[Student]:
    """Active pupils of a class in roll order; their position (1-based) is the number teachers use."""
    return list(
        session.scalars(
            select(Student)
            .where(Student.class_id == class_id, Student.active.is_(True))
            .order_by(Student.student_no, Student.id)
        )
    )


def marks_for(session: Session, class_id: int, day: date) -> dict[int, Mark]:
    """Exceptions already known for the day: an earlier submission, approved leave, guardian answers."""
    rows = session.execute(
        select(AttendanceRecord.student_id, AttendanceRecord.status).where(
            AttendanceRecord.class_id == class_id, AttendanceRecord.day == day
        )
    )
    return {student_id: Mark(status) for student_id, status in rows}


def rollcall_of(session: Session, class_id: int, day: date) -> RollCall | None:
    return session.scalars(select(RollCall).where(RollCall.class_id == class_id, RollCall.day == day)).first()


class RollCallRefused(Exception):
    """Why a roll-call could not be recorded; `code` picks the message the flow shows."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class RollCallResult:
    rollcall: RollCall
    absent: int
    sick: int
    personal: int
    late: int
    replaced: bool
    after_cutoff: bool
    marks: dict[int, Mark]  # the day's marks as stored, pupil id → mark (present pupils absent)


def check_rollcall_allowed(
    session: Session, person: Person | None, klass: SchoolClass, day: date, now: datetime
) -> bool:
    """Raise RollCallRefused unless `person` may record this class today; True when after the cutoff."""
    if not can(session, person, Act.ROLLCALL, Target.klass(klass.id)):
        raise RollCallRefused("forbidden")
    if not is_school_day(session, klass.school, day):
        raise RollCallRefused("not_school_day")
    late = now >= cutoff_at(klass.school, day)
    if late and not is_class_teacher(session, person, klass):
        raise RollCallRefused("after_cutoff")
    return late


def submit_rollcall(
    session: Session,
    person: Person,
    klass: SchoolClass,
    day: date,
    marks: dict[int, Mark],
    now: datetime,
    *,
    partial: bool = False,
) -> RollCallResult:
    """Record a roll-call in the caller's transaction.

    A full submission replaces the day's marks of this class (pupils not in `marks` are present);
    a partial one (quick text) only changes the pupils named. Changes after the cutoff are audited.
    """
    late = check_rollcall_allowed(session, person, klass, day, now)
    _check_on_roster(session, klass, marks)
    existing = _day_records(session, klass, day)
    rollcall, replaced = _stamp_rollcall(session, person, klass, day, now, late)
    before = {sid: r.status for sid, r in existing.items()}
    if not partial:
        _drop_unmarked(session, existing, marks)
    _write_marks(session, person, klass, day, marks, existing, now)
    session.flush()
    if late:
        _after_cutoff(session, person, klass, day, before, now)
    return _rollcall_result(session, klass, day, rollcall, replaced, late)


def _check_on_roster(session: Session, klass: SchoolClass, marks: dict[int, Mark]) -> None:
    """Raise RollCallRefused unless every marked pupil is on the class roster."""
    pupils = {s.id for s in roster(session, klass.id)}
    if not set(marks) <= pupils:
        raise RollCallRefused("forbidden")


def _day_records(session: Session, klass: SchoolClass, day: date) -> dict[int, AttendanceRecord]:
    """The class's attendance records for the day, by pupil id."""
    return {
        r.student_id: r
        for r in session.scalars(
            select(AttendanceRecord).where(AttendanceRecord.class_id == klass.id, AttendanceRecord.day == day)
        )
    }


def _stamp_rollcall(
    session: Session, person: Person, klass: SchoolClass, day: date, now: datetime, late: bool
) -> tuple[RollCall, bool]:
    """The day's roll-call row, created if needed and stamped with this submission; True if it existed."""
    rollcall = rollcall_of(session, klass.id, day)
    replaced = rollcall is not None
    if rollcall is None:
        rollcall = RollCall(class_id=klass.id, school_id=klass.school_id, day=day)
        session.add(rollcall)
    rollcall.submitted_by = person.id
    rollcall.submitted_at = now
    rollcall.after_cutoff = late
    return rollcall, replaced


def _drop_unmarked(session: Session, existing: dict[int, AttendanceRecord], marks: dict[int, Mark]) -> None:
    """Delete the records of pupils a full submission leaves out (they are present)."""
    gone = [r.id for sid, r in existing.items() if sid not in marks]
    if gone:
        session.execute(delete(AttendanceRecord).where(AttendanceRecord.id.in_(gone)))


def _write_marks(
    session: Session,
    person: Person,
    klass: SchoolClass,
    day: date,
    marks: dict[int, Mark],
    existing: dict[int, AttendanceRecord],
    now: datetime,
) -> None:
    """Add or update a roll-call record for each marked pupil."""
    for student_id, mark in marks.items():
        record = existing.get(student_id)
        if record is not None and mark == Mark.ABSENT and record.source == MarkSource.LEAVE:
            continue  # approved leave explains the absence: it stays excused
        if record is None:
            session.add(
                AttendanceRecord(
                    student_id=student_id,
                    class_id=klass.id,
                    school_id=klass.school_id,
                    day=day,
                    status=mark,
                    source=MarkSource.ROLLCALL,
                    reported_by=person.id,
                    at=now,
                )
            )
        elif record.status != mark:
            record.status = mark
            record.source = MarkSource.ROLLCALL
            record.reported_by = person.id
            record.at = now


def _after_cutoff(
    session: Session, person: Person, klass: SchoolClass, day: date, before: dict[int, Mark], now: datetime
) -> None:
    """Audit the late changes, then close the class's school day again."""
    after = marks_for(session, klass.id, day)
    changes = {
        str(sid): [str(before.get(sid) or "present"), str(after.get(sid) or "present")]
        for sid in set(before) | set(after)
        if before.get(sid) != after.get(sid)
    }
    session.add(
        _audit(
            now,
            person.id,
            "attendance.rollcall.after_cutoff",
            f"class:{klass.id}",
            day=day.isoformat(),
            changes=changes,
        )
    )
    # The day was already closed (or is due): alert about these absences now, not tomorrow.
    from chatbot.attendance.close import close_day

    close_day(session, day, now, school_ids=[klass.school_id])


def _rollcall_result(
    session: Session, klass: SchoolClass, day: date, rollcall: RollCall, replaced: bool, late: bool
) -> RollCallResult:
    """The day's marks as now stored, counted by kind."""
    final = marks_for(session, klass.id, day)
    counts = {m: sum(1 for v in final.values() if v == m) for m in Mark}
    return RollCallResult(
        rollcall=rollcall,
        absent=counts[Mark.ABSENT],
        sick=counts[Mark.SICK],
        personal=counts[Mark.PERSONAL],
        late=counts[Mark.LATE],
        replaced=replaced,
        after_cutoff=late,
        marks=final,
    )


def _audit(now: datetime, actor: int | None, action: str, target: str, **details: Any) -> Any:
    from db.models import AuditLog

    return AuditLog(at=now, actor_person_id=actor, action=action, target=target, details=details)


# --- leave -------------------------------------------------------------------------------------


def school_days_in(session: Session, school: School, first: date, last: date) -> list[date]:
    return school_days(session, school, first, last)


def create_leave(
    session: Session,
    person: Person,
    student: Student,
    kind: LeaveKind,
    first: date,
    last: date,
    reason: str | None,
    now: datetime,
) -> LeaveRequest:
    """A guardian's request; the caller notifies the class teacher in the same transaction."""
    if not can(session, person, Act.LEAVE_REQUEST, Target.student(student.id)):
        raise PermissionError("not a guardian of this pupil")
    if last < first or (last - first).days >= MAX_LEAVE_DAYS:
        raise ValueError("bad range")
    leave = LeaveRequest(
        student_id=student.id,
        requested_by=person.id,
        kind=kind,
        first_day=first,
        last_day=last,
        reason=reason or None,
        status=LeaveStatus.PENDING,
        created_at=now,
    )
    session.add(leave)
    session.flush()
    # Pending leave already excuses its days: no absence question, no dropout-risk count, until decided.
    apply_leave(session, leave, now)
    return leave


def decide_leave(
    session: Session,
    person: Person,
    leave: LeaveRequest,
    approve: bool,
    now: datetime,
    note: str | None = None,
) -> bool:
    """Approve or refuse (with `note`, the reason) a pending request. False if already decided.

    Approval keeps its school days excused; a refusal undoes them (`revoke_leave`).
    """
    if not can(session, person, Act.LEAVE_DECIDE, Target.student(leave.student_id)):
        raise PermissionError("not this pupil's class teacher")
    if leave.status != LeaveStatus.PENDING:
        return False
    leave.status = LeaveStatus.APPROVED if approve else LeaveStatus.REJECTED
    leave.decided_by = person.id
    leave.decided_at = now
    leave.decision_note = (note or None) if not approve else None
    if approve:
        apply_leave(session, leave, now)
    else:
        revoke_leave(session, leave)
    return True


def revoke_leave(session: Session, leave: LeaveRequest) -> None:
    """Undo a refused request's excused days: absent where a roll-call saw the pupil away, else gone.

    The teacher's roll-call kept the leave mark for a pupil who was away; refused, that absence is
    unexplained again and the next daily close handles it like any other.
    """
    records = list(
        session.scalars(
            select(AttendanceRecord).where(
                AttendanceRecord.leave_id == leave.id, AttendanceRecord.source == MarkSource.LEAVE
            )
        )
    )
    if not records:
        return
    # A leave's records are one pupil's, in one class.
    taken = set(
        session.scalars(
            select(RollCall.day).where(
                RollCall.class_id == records[0].class_id, RollCall.day.in_({r.day for r in records})
            )
        )
    )
    for record in records:
        if record.day in taken:
            record.status, record.source, record.leave_id, record.alerted_at = (
                Mark.ABSENT,
                MarkSource.ROLLCALL,
                None,
                None,
            )
        else:
            session.delete(record)
    session.flush()


def apply_leave(session: Session, leave: LeaveRequest, now: datetime) -> int:
    """Mark every school day of an approved leave as sick/personal leave; returns the days marked."""
    student = session.get(Student, leave.student_id)
    assert student is not None
    mark = Mark.SICK if leave.kind == LeaveKind.SICK else Mark.PERSONAL
    days = school_days_in(session, student.school_class.school, leave.first_day, leave.last_day)
    existing = {
        r.day: r
        for r in session.scalars(
            select(AttendanceRecord).where(
                AttendanceRecord.student_id == student.id, AttendanceRecord.day.in_(days)
            )
        )
    }
    for day in days:
        record = existing.get(day)
        if record is None:
            session.add(
                AttendanceRecord(
                    student_id=student.id,
                    class_id=student.class_id,
                    school_id=student.school_id,
                    day=day,
                    status=mark,
                    source=MarkSource.LEAVE,
                    reported_by=leave.decided_by or leave.requested_by,
                    at=now,
                    leave_id=leave.id,
                )
            )
        else:
            record.status = mark
            record.source = MarkSource.LEAVE
            record.leave_id = leave.id
            record.reported_by = leave.decided_by or leave.requested_by
            record.at = now
    session.flush()
    return len(days)
