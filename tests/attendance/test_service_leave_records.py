"""The attendance rules without a chat: who is a class teacher, refused roll-calls, the audit of a
late change, leave requests and what an approved leave writes into the attendance records."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.attendance.service import (
    RollCallRefused,
    create_leave,
    decide_leave,
    is_class_teacher,
    submit_rollcall,
)
from db.models import AuditLog, Person, Role, SchoolClass, ScopeType, Student
from db.models.attendance import AttendanceRecord, LeaveKind, LeaveRequest, LeaveStatus, Mark, MarkSource
from db.session import transaction
from tests.attendance.helpers import MONDAY, at, new_person, subject_teacher, teacher_class

TUESDAY, WEDNESDAY = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)


def test_who_counts_as_class_teacher(app, demo) -> None:  # type: ignore[no-untyped-def]
    own_class, _pupils = teacher_class(app, demo.teacher)
    with app.session_factory() as s:
        other = s.scalars(
            select(SchoolClass).where(SchoolClass.id != own_class).order_by(SchoolClass.id)
        ).first()
        assert other is not None and other.class_teacher_id not in (None, demo.teacher)
        other_id = other.id
    # A second class teacher of the other class, by membership only (not the class's own teacher).
    deputy = new_person(app, "副班主任", (Role.CLASS_TEACHER, ScopeType.CLASS, other_id))
    # The same number as the class, but a school scope: not a class-teacher membership of it.
    school_scoped = new_person(app, "学校范围", (Role.CLASS_TEACHER, ScopeType.SCHOOL, other_id))
    subject = new_person(app, "科任老师", (Role.TEACHER, ScopeType.CLASS, other_id))
    with app.session_factory() as s:
        other = s.get(SchoolClass, other_id)
        assert other is not None

        def check(person_id: int | None) -> bool:
            person = s.get(Person, person_id) if person_id is not None else None
            assert other is not None
            return is_class_teacher(s, person, other)

        assert check(None) is False
        assert check(other.class_teacher_id) is True
        assert check(deputy) is True
        assert check(demo.teacher) is False  # class teacher of another class only
        assert check(school_scoped) is False
        assert check(subject) is False


def test_late_roll_call_refused_to_subject_teacher_audited_for_class_teacher(app, demo) -> None:  # type: ignore[no-untyped-def]
    class_id, pupils = teacher_class(app, demo.teacher)
    subject = subject_teacher(app, class_id)
    late = at(MONDAY, 10, 15)
    with transaction(app.session_factory) as s:
        klass = s.get(SchoolClass, class_id)
        person = s.get(Person, subject)
        assert klass is not None and person is not None
        with pytest.raises(RollCallRefused) as refused:
            submit_rollcall(s, person, klass, MONDAY, {pupils[0]: Mark.ABSENT}, late)
    assert refused.value.code == "after_cutoff"
    assert refused.value.args == ("after_cutoff",) and str(refused.value) == "after_cutoff"
    with transaction(app.session_factory) as s:
        klass = s.get(SchoolClass, class_id)
        teacher = s.get(Person, demo.teacher)
        assert klass is not None and teacher is not None
        result = submit_rollcall(s, teacher, klass, MONDAY, {pupils[2]: Mark.SICK}, late)
        assert result.after_cutoff and result.sick == 1
    with app.session_factory() as s:
        audits = [
            (a.at, a.actor_person_id, a.action, a.target, a.details) for a in s.scalars(select(AuditLog))
        ]
    assert audits == [
        (
            late,
            demo.teacher,
            "attendance.rollcall.after_cutoff",
            f"class:{class_id}",
            {"day": MONDAY.isoformat(), "changes": {str(pupils[2]): ["present", "sick"]}},
        )
    ]


def _leaves(app: App) -> list[tuple[object, ...]]:
    with app.session_factory() as s:
        return [
            (
                leave.student_id,
                leave.requested_by,
                leave.kind,
                leave.first_day,
                leave.last_day,
                leave.reason,
                leave.status,
                leave.decided_by,
                leave.decided_at,
                leave.created_at,
            )
            for leave in s.scalars(select(LeaveRequest).order_by(LeaveRequest.id))
        ]


def _request(
    app: App, person_id: int, student_id: int, first: date, last: date, reason: str | None, now: datetime
) -> int:
    with transaction(app.session_factory) as s:
        person, student = s.get(Person, person_id), s.get(Student, student_id)
        assert person is not None and student is not None
        leave = create_leave(s, person, student, LeaveKind.PERSONAL, first, last, reason, now)
        assert leave.status == LeaveStatus.PENDING
        return leave.id


def test_leave_requests_only_from_guardians_for_at_most_31_days(app, demo) -> None:  # type: ignore[no-untyped-def]
    child = teacher_class(app, demo.teacher)[1][0]  # the demo parent's child
    now = at(MONDAY, 7)
    with pytest.raises(PermissionError) as not_guardian:
        _request(app, demo.teacher, child, MONDAY, MONDAY, None, now)
    assert not_guardian.value.args == ("not a guardian of this pupil",)
    for first, last in ((TUESDAY, MONDAY), (MONDAY, MONDAY + timedelta(days=31))):
        with pytest.raises(ValueError) as bad:
            _request(app, demo.parent, child, first, last, None, now)
        assert bad.value.args == ("bad range",)
    assert _leaves(app) == []
    longest = _request(app, demo.parent, child, MONDAY, MONDAY + timedelta(days=30), "发烧" * 125, now)
    blank = _request(app, demo.parent, child, TUESDAY, TUESDAY, "", now)
    assert longest < blank
    assert _leaves(app) == [
        (
            child,
            demo.parent,
            LeaveKind.PERSONAL,
            MONDAY,
            MONDAY + timedelta(days=30),
            "发烧" * 125,  # kept whole: the chat refuses a reason longer than the column, never cuts it
            LeaveStatus.PENDING,
            None,
            None,
            now,
        ),
        (
            child,
            demo.parent,
            LeaveKind.PERSONAL,
            TUESDAY,
            TUESDAY,
            None,
            LeaveStatus.PENDING,
            None,
            None,
            now,
        ),
    ]


def _records(app: App) -> list[tuple[object, ...]]:
    with app.session_factory() as s:
        return [
            (r.student_id, r.day, r.status, r.source, r.reported_by, r.at, r.leave_id)
            for r in s.scalars(
                select(AttendanceRecord).order_by(AttendanceRecord.student_id, AttendanceRecord.day)
            )
        ]


def test_an_approved_personal_leave_marks_only_that_pupils_days(app, demo) -> None:  # type: ignore[no-untyped-def]
    class_id, pupils = teacher_class(app, demo.teacher)
    child, classmate = pupils[0], pupils[2]
    leave_id = _request(app, demo.parent, child, MONDAY, WEDNESDAY, "走亲戚", at(MONDAY, 7))
    for day, absent in ((MONDAY, child), (TUESDAY, classmate)):
        with transaction(app.session_factory) as s:
            klass, teacher = s.get(SchoolClass, class_id), s.get(Person, demo.teacher)
            assert klass is not None and teacher is not None
            submit_rollcall(s, teacher, klass, day, {absent: Mark.ABSENT}, at(day, 8))
    decided_at = at(TUESDAY, 9)
    with transaction(app.session_factory) as s:
        leave = s.get(LeaveRequest, leave_id)
        parent, teacher = s.get(Person, demo.parent), s.get(Person, demo.teacher)
        assert leave is not None and parent is not None and teacher is not None
        with pytest.raises(PermissionError) as not_teacher:
            decide_leave(s, parent, leave, True, decided_at)
        assert not_teacher.value.args == ("not this pupil's class teacher",)
        assert decide_leave(s, teacher, leave, True, decided_at) is True
        assert decide_leave(s, teacher, leave, False, decided_at) is False  # decided already
    personal, leave_source, rollcall = Mark.PERSONAL, MarkSource.LEAVE, MarkSource.ROLLCALL
    assert _records(app) == [
        (child, MONDAY, personal, leave_source, demo.teacher, decided_at, leave_id),
        (child, TUESDAY, personal, leave_source, demo.teacher, decided_at, leave_id),
        (child, WEDNESDAY, personal, leave_source, demo.teacher, decided_at, leave_id),
        (classmate, TUESDAY, Mark.ABSENT, rollcall, demo.teacher, at(TUESDAY, 8), None),
    ]
    assert [row[6:9] for row in _leaves(app)] == [(LeaveStatus.APPROVED, demo.teacher, decided_at)]
