"""The roll-call rules called directly, asserted whole: refusal codes, the cutoff (the school's own,
and its exact minute), a submission naming every pupil, the rows written (who submitted, who
reported), only this class and this day being read or replaced, the after-cutoff audit, and the
late close touching only this school."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.attendance.service import RollCallRefused, check_rollcall_allowed, cutoff_at, submit_rollcall
from chatbot.channels.console import ConsoleChannel
from db.models import AuditLog, Person, SchoolClass, Student
from db.models.attendance import AttendanceRecord, Mark, MarkSource, RollCall
from db.session import transaction
from tests.attendance.helpers import MONDAY, absence, at, subject_teacher, teacher_class

FRIDAY_BEFORE = MONDAY - timedelta(days=3)


def _load(s, person_id: int, class_id: int) -> tuple[Person, SchoolClass]:  # type: ignore[no-untyped-def]
    person = s.get(Person, person_id)
    klass = s.get(SchoolClass, class_id)
    assert person is not None and klass is not None
    return person, klass


def _pupil_elsewhere(s, class_id: int, *, other_school: bool) -> Student:  # type: ignore[no-untyped-def]
    klass = s.get(SchoolClass, class_id)
    query = select(Student).where(Student.class_id != class_id)
    if other_school:
        query = query.where(Student.school_id != klass.school_id)
    else:
        query = query.where(Student.school_id == klass.school_id)
    found = s.scalars(query.order_by(Student.id)).first()
    assert found is not None
    return found


def _absent(s, pupil: Student, day, reporter: int | None) -> AttendanceRecord:  # type: ignore[no-untyped-def]
    record = absence(pupil, day, reporter, hour=7)
    s.add(record)
    return record


def _rows(app: App) -> dict[int, tuple[object, ...]]:
    with app.session_factory() as s:
        return {
            r.student_id: (r.class_id, r.day, r.status, r.source, r.reported_by, r.at)
            for r in s.scalars(select(AttendanceRecord))
        }


def test_refusal_codes(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    class_id, ids = teacher_class(app, demo.teacher)
    with transaction(app.session_factory) as s:
        parent, klass = _load(s, demo.parent, class_id)
        with pytest.raises(RollCallRefused) as refused:
            check_rollcall_allowed(s, parent, klass, MONDAY, at(MONDAY, 8))
        assert (refused.value.code, refused.value.args) == ("forbidden", ("forbidden",))
        with pytest.raises(RollCallRefused) as refused:
            submit_rollcall(s, parent, klass, MONDAY, {ids[0]: Mark.ABSENT}, at(MONDAY, 8))
        assert refused.value.code == "forbidden"

        # The class teacher naming a pupil of another class: refused, nothing written.
        teacher, klass = _load(s, demo.teacher, class_id)
        stranger = _pupil_elsewhere(s, class_id, other_school=False)
        with pytest.raises(RollCallRefused) as refused:
            submit_rollcall(
                s, teacher, klass, MONDAY, {ids[0]: Mark.ABSENT, stranger.id: Mark.ABSENT}, at(MONDAY, 8)
            )
        assert (refused.value.code, refused.value.args) == ("forbidden", ("forbidden",))
        assert s.scalars(select(RollCall)).all() == []
    assert _rows(app) == {}


def test_the_cutoff_is_the_schools_own_and_starts_on_its_minute(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    class_id, _ids = teacher_class(app, demo.teacher)
    subject_id = subject_teacher(app, class_id)
    with transaction(app.session_factory) as s:
        teacher, klass = _load(s, demo.teacher, class_id)
        subject, _same = _load(s, subject_id, class_id)
        school = klass.school
        assert cutoff_at(school, MONDAY) == at(MONDAY, 10)
        # Before the cutoff anyone allowed may record; from the cutoff minute on, the class teacher only.
        assert check_rollcall_allowed(s, subject, klass, MONDAY, at(MONDAY, 9, 59)) is False
        assert check_rollcall_allowed(s, teacher, klass, MONDAY, at(MONDAY, 9, 59)) is False
        assert check_rollcall_allowed(s, teacher, klass, MONDAY, at(MONDAY, 10)) is True
        with pytest.raises(RollCallRefused) as refused:
            check_rollcall_allowed(s, subject, klass, MONDAY, at(MONDAY, 10))
        assert refused.value.code == "after_cutoff"

        school.rollcall_cutoff = time(9, 0)
        assert cutoff_at(school, MONDAY) == at(MONDAY, 9)
        assert check_rollcall_allowed(s, subject, klass, MONDAY, at(MONDAY, 8, 59)) is False
        assert check_rollcall_allowed(s, teacher, klass, MONDAY, at(MONDAY, 9, 30)) is True
        with pytest.raises(RollCallRefused) as refused:
            check_rollcall_allowed(s, subject, klass, MONDAY, at(MONDAY, 9, 30))
        assert refused.value.code == "after_cutoff"


def test_a_subject_teacher_at_the_cutoff_minute_is_refused_in_chat(
    console: ConsoleChannel, app: App, demo
) -> None:  # type: ignore[no-untyped-def]
    class_id, ids = teacher_class(app, demo.teacher)
    subject_id = subject_teacher(app, class_id)
    with transaction(app.session_factory) as s:
        school = s.get(SchoolClass, class_id).school  # type: ignore[union-attr]
        school.rollcall_cutoff = time(9, 0)
    early = console.send(subject_id, "缺 1", now=at(MONDAY, 8, 59))
    assert early[0].text.startswith("已记录3年级1班：缺勤：1.")
    refused = console.send(subject_id, "缺 2", now=at(MONDAY, 9))
    assert [r.text for r in refused] == ["点名截止时间已过，现在只有班主任可以修改。"]
    assert set(_rows(app)) == {ids[0]}


def test_a_submission_may_name_every_pupil(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    class_id, ids = teacher_class(app, demo.teacher)
    with transaction(app.session_factory) as s:
        teacher, klass = _load(s, demo.teacher, class_id)
        result = submit_rollcall(s, teacher, klass, MONDAY, dict.fromkeys(ids, Mark.ABSENT), at(MONDAY, 8))
        assert (result.absent, result.sick, result.personal, result.late) == (len(ids), 0, 0, 0)
        assert result.marks == dict.fromkeys(ids, Mark.ABSENT)
    assert set(_rows(app)) == set(ids)


def test_rows_written_and_only_this_class_and_day_read_or_replaced(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    class_id, ids = teacher_class(app, demo.teacher)
    subject_id = subject_teacher(app, class_id)
    with transaction(app.session_factory) as s:
        neighbour = _pupil_elsewhere(s, class_id, other_school=False)  # same school, another class
        _absent(s, neighbour, MONDAY, None)
        _absent(s, s.get(Student, ids[4]), FRIDAY_BEFORE, demo.teacher)  # same class, another day
        _absent(s, s.get(Student, ids[1]), MONDAY, subject_id)  # earlier today, by the subject teacher
        _absent(s, s.get(Student, ids[2]), MONDAY, subject_id)  # earlier today, dropped by the new list
        neighbour_id, neighbour_class = neighbour.id, neighbour.class_id

    now = at(MONDAY, 9)
    with transaction(app.session_factory) as s:
        teacher, klass = _load(s, demo.teacher, class_id)
        school_id = klass.school_id
        result = submit_rollcall(s, teacher, klass, MONDAY, {ids[0]: Mark.SICK, ids[1]: Mark.LATE}, now)
        assert result.marks == {ids[0]: Mark.SICK, ids[1]: Mark.LATE}
        assert (result.absent, result.sick, result.personal, result.late) == (0, 1, 0, 1)
        assert (result.replaced, result.after_cutoff) == (False, False)
    with app.session_factory() as s:
        rollcalls = [
            (r.class_id, r.school_id, r.day, r.submitted_by, r.submitted_at, r.after_cutoff)
            for r in s.scalars(select(RollCall))
        ]
        assert rollcalls == [(class_id, school_id, MONDAY, demo.teacher, now, False)]
        assert s.scalars(select(AuditLog).where(AuditLog.action.like("attendance.%"))).all() == []
    assert _rows(app) == {
        neighbour_id: (neighbour_class, MONDAY, Mark.ABSENT, MarkSource.ROLLCALL, None, at(MONDAY, 7)),
        ids[4]: (
            class_id,
            FRIDAY_BEFORE,
            Mark.ABSENT,
            MarkSource.ROLLCALL,
            demo.teacher,
            at(FRIDAY_BEFORE, 7),
        ),
        ids[0]: (class_id, MONDAY, Mark.SICK, MarkSource.ROLLCALL, demo.teacher, now),
        ids[1]: (class_id, MONDAY, Mark.LATE, MarkSource.ROLLCALL, demo.teacher, now),
    }


def test_after_the_cutoff_changes_are_audited_and_only_this_school_is_closed(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    class_id, ids = teacher_class(app, demo.teacher)
    with transaction(app.session_factory) as s:
        far = _pupil_elsewhere(s, class_id, other_school=True)  # another school, same day
        _absent(s, far, MONDAY, None)
        far_id = far.id
    with transaction(app.session_factory) as s:
        teacher, klass = _load(s, demo.teacher, class_id)
        submit_rollcall(s, teacher, klass, MONDAY, {ids[1]: Mark.ABSENT}, at(MONDAY, 8))

    now = at(MONDAY, 10, 30)
    with transaction(app.session_factory) as s:
        teacher, klass = _load(s, demo.teacher, class_id)
        result = submit_rollcall(s, teacher, klass, MONDAY, {ids[2]: Mark.ABSENT, ids[3]: Mark.SICK}, now)
        assert (result.replaced, result.after_cutoff) == (True, True)
        assert result.marks == {ids[2]: Mark.ABSENT, ids[3]: Mark.SICK}
    with app.session_factory() as s:
        audits = [
            (a.at, a.actor_person_id, a.action, a.target, a.details)
            for a in s.scalars(select(AuditLog).where(AuditLog.action.like("attendance.%")))
        ]
        assert audits == [
            (
                now,
                demo.teacher,
                "attendance.rollcall.after_cutoff",
                f"class:{class_id}",
                {
                    "day": "2026-11-23",
                    "changes": {
                        str(ids[1]): ["absent", "present"],
                        str(ids[2]): ["present", "absent"],
                        str(ids[3]): ["present", "sick"],
                    },
                },
            )
        ]
        rollcall = s.scalars(select(RollCall)).one()
        assert (rollcall.submitted_by, rollcall.submitted_at, rollcall.after_cutoff) == (
            demo.teacher,
            now,
            True,
        )
        # The late close alerted this class's new absences, and left the other school's day alone.
        alerted = dict(s.execute(select(AttendanceRecord.student_id, AttendanceRecord.alerted_at)).all())
        assert alerted == {ids[2]: now, ids[3]: now, far_id: None}
