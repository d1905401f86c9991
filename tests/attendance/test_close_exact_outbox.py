"""The daily close and the nudge, asserted as exact outbox rows, summaries and processed marks.

Two schools of the demo county, one of them in another time zone, recipients reading Chinese and
English: every message the close queues is compared whole (text, buttons, kind, key, ref, tz).
"""

from __future__ import annotations

import os
import time as time_module
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import delete, select

from chatbot.app import App
from chatbot.attendance.close import CloseSummary, close_day, nudge_missing_rollcalls
from chatbot.attendance.service import submit_rollcall
from chatbot.channels.console import ConsoleChannel
from db.models import ChannelIdentity, Guardian, Person, School, SchoolClass, Student
from db.models.attendance import AttendanceRecord, DropoutCase, Mark, MarkSource, RollCall
from db.session import transaction
from tests.attendance.helpers import MONDAY, absence, at, name_of, outbox_dicts

if TYPE_CHECKING:
    from tests.conftest import DemoPeople

URUMQI = "Asia/Urumqi"  # UTC+6: ten o'clock there is noon in Shanghai
THURSDAY, FRIDAY = MONDAY - timedelta(days=4), MONDAY - timedelta(days=3)
DAY_ZH, DAY_EN = "11月23日 周一", "Mon, Nov 23"
# The demo county as seeded: school ids, class ids, and the people who run them.
SCHOOL_A, SCHOOL_B = 1, 2
A1, A2, A3, A4, B1, B2, B3 = 1, 2, 3, 4, 5, 6, 7
PRINCIPAL_B = 149
TEACHER = {A1: 4, A2: 42, A3: 85, A4: 113, B1: 150, B2: 195, B3: 236}
ANSWERS_ZH = (("生病", "sick"), ("事假", "personal"), ("不知道", "unknown"), ("已在路上", "on_the_way"))
ANSWERS_EN = (
    ("Sick", "sick"),
    ("Personal leave", "personal"),
    ("I don't know", "unknown"),
    ("Already on the way", "on_the_way"),
)


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def _identity(app: App, person_id: int, locale: str | None = None) -> int:
    """A console account for the person (their language set on the person), returning its id."""
    ConsoleChannel(app.session_factory, app.router, clock=app.clock).external_id(person_id)
    with transaction(app.session_factory) as s:
        if locale is not None:
            found = s.get(Person, person_id)
            assert found is not None
            found.locale = locale
        return s.scalars(select(ChannelIdentity.id).where(ChannelIdentity.person_id == person_id)).one()


def _row(
    identity: int,
    person: int,
    kind: str,
    text: str,
    buttons: list[list[tuple[str, str]]],
    priority: int,
    key: str,
    ref: tuple[str, int],
    tz: str,
    when: datetime,
) -> dict[str, Any]:
    return {
        "identity_id": identity,
        "person_id": person,
        "kind": kind,
        "text": text,
        "buttons": [[{"label": label, "payload": payload} for label, payload in row] for row in buttons],
        "priority": priority,
        "not_before": when,
        "dedupe_key": f"{key}|{identity}",
        "ref": ref,
        "tz": tz,
        "created_at": when,
    }


def _answer_buttons(record_id: int, labels: tuple[tuple[str, str], ...]) -> list[list[tuple[str, str]]]:
    pairs = [(label, f"aba:{record_id}:{value}") for label, value in labels]
    return [pairs[:2], pairs[2:]]


def _pupils(app: App, class_id: int) -> list[int]:
    with app.session_factory() as s:
        return list(s.scalars(select(Student.id).where(Student.class_id == class_id).order_by(Student.id)))


def _guardian(app: App, student_id: int) -> tuple[int, str | None]:
    with app.session_factory() as s:
        found = s.scalars(select(Guardian).where(Guardian.student_id == student_id)).one()
        return found.person_id, found.relation


def _rollcall(app: App, class_id: int, day: date, marks: dict[int, Mark], now: datetime) -> None:
    with transaction(app.session_factory) as s:
        klass = s.get(SchoolClass, class_id)
        teacher = s.get(Person, TEACHER[class_id])
        assert klass is not None and teacher is not None
        submit_rollcall(s, teacher, klass, day, marks, now)


def _history(app: App, class_id: int, day: date, absent: list[int], alerted_at: datetime | None) -> None:
    """A roll-call of an earlier day written directly, with its absences (processed or not)."""
    with transaction(app.session_factory) as s:
        klass = s.get(SchoolClass, class_id)
        assert klass is not None
        s.add(
            RollCall(
                class_id=class_id,
                school_id=klass.school_id,
                day=day,
                submitted_by=TEACHER[class_id],
                submitted_at=at(day, 8),
                after_cutoff=False,
            )
        )
        for student_id in absent:
            s.add(
                AttendanceRecord(
                    student_id=student_id,
                    class_id=class_id,
                    school_id=klass.school_id,
                    day=day,
                    status=Mark.ABSENT,
                    source=MarkSource.ROLLCALL,
                    reported_by=TEACHER[class_id],
                    at=at(day, 8),
                    alerted_at=alerted_at,
                )
            )


def _record_ids(app: App, day: date) -> dict[int, int]:
    with app.session_factory() as s:
        return dict(
            s.execute(
                select(AttendanceRecord.student_id, AttendanceRecord.id).where(AttendanceRecord.day == day)
            ).all()
        )


def _alerted(app: App) -> dict[tuple[int, date], datetime | None]:
    with app.session_factory() as s:
        return {
            (student_id, day): alerted_at
            for student_id, day, alerted_at in s.execute(
                select(AttendanceRecord.student_id, AttendanceRecord.day, AttendanceRecord.alerted_at)
            )
        }


def _set_school(app: App, school_id: int, *, tz: str | None = None, cutoff: time | None = None) -> None:
    with transaction(app.session_factory) as s:
        school = s.get(School, school_id)
        assert school is not None
        if tz is not None:
            school.timezone = tz
        if cutoff is not None:
            school.rollcall_cutoff = cutoff


def test_a_full_close_queues_exactly_these_messages(app, demo) -> None:  # type: ignore[no-untyped-def]
    close_at = at(MONDAY, 12, 30)  # after both cutoffs: 10:00 in Shanghai and 10:00 in Urumqi
    _set_school(app, SCHOOL_B, tz=URUMQI)
    a1, a2, a3, b1 = _pupils(app, A1), _pupils(app, A2), _pupils(app, A3), _pupils(app, B1)
    with_mother, kin_unknown, orphan, late = a1[1], a1[2], a1[3], a1[5]
    moved, far, friday_only = a2[0], b1[1], a3[0]
    with transaction(app.session_factory) as s:
        # Roll order is by student number, not by id: the mother's child is called last.
        pupil = s.get(Student, with_mother)
        assert pupil is not None
        pupil.student_no = "030199"
        # A pupil whose number sorts before every other class's pupils, in the last class alerted.
        far_pupil = s.get(Student, far)
        assert far_pupil is not None
        far_pupil.student_no = "000001"
        s.execute(delete(Guardian).where(Guardian.student_id == orphan))
        unnamed = s.scalars(select(Guardian).where(Guardian.student_id == kin_unknown)).one()
        unnamed.relation = None
        # A class with no teacher and the lowest grade of the county, in the second school.
        s.add(SchoolClass(school_id=SCHOOL_B, grade=1, name="1班", class_teacher_id=None))
    # Earlier days: the far pupil was absent Thursday and Friday (processed by those closes);
    # grade 5 took a roll-call on Friday only, whose absence no close has looked at.
    _history(app, B1, THURSDAY, [far], alerted_at=at(THURSDAY, 12, 30))
    _history(app, B1, FRIDAY, [far], alerted_at=at(FRIDAY, 12, 30))
    _history(app, A3, FRIDAY, [friday_only], alerted_at=None)
    _rollcall(
        app,
        A1,
        MONDAY,
        {with_mother: Mark.ABSENT, kin_unknown: Mark.ABSENT, orphan: Mark.ABSENT, late: Mark.LATE},
        at(MONDAY, 8),
    )
    _rollcall(app, A2, MONDAY, {moved: Mark.ABSENT}, at(MONDAY, 8, 5))
    _rollcall(app, B1, MONDAY, {far: Mark.ABSENT}, at(MONDAY, 8, 10))
    with transaction(app.session_factory) as s:
        # After the roll-call the pupil moved to grade 6: the alert still belongs to grade 4.
        moved_pupil = s.get(Student, moved)
        assert moved_pupil is not None
        moved_pupil.class_id = A4
    mother, _relation = _guardian(app, with_mother)
    kin, _none = _guardian(app, kin_unknown)
    far_guardian, far_relation = _guardian(app, far)
    ident = {
        demo.principal: _identity(app, demo.principal),
        PRINCIPAL_B: _identity(app, PRINCIPAL_B, "en"),
        demo.teacher: _identity(app, demo.teacher),
        TEACHER[A2]: _identity(app, TEACHER[A2]),
        TEACHER[B1]: _identity(app, TEACHER[B1], "en"),
        mother: _identity(app, mother),
        kin: _identity(app, kin),
        far_guardian: _identity(app, far_guardian, "en"),
    }
    records = _record_ids(app, MONDAY)
    for student_id in (with_mother, kin_unknown, far):
        assert records[student_id] != student_id  # keys and refs below tell the two apart

    with transaction(app.session_factory) as s:
        summary = close_day(s, MONDAY, close_at)

    assert summary == CloseSummary(
        day=MONDAY,
        schools_closed=2,
        schools_skipped=0,
        classes_missing=5,
        absences_alerted=5,
        teacher_alerts=3,
        guardian_questions=3,  # the moved pupil's guardian has no chat account: not asked, not counted
        principal_notices=2,
        cases_opened=1,
        messages_queued=9,
    )
    n_mother, n_kin, n_orphan = name_of(app, with_mother), name_of(app, kin_unknown), name_of(app, orphan)
    n_moved, n_far = name_of(app, moved), name_of(app, far)
    with app.session_factory() as s:
        case_id = s.scalars(select(DropoutCase.id)).one()
    shanghai, normal, urgent = "Asia/Shanghai", 10, 0
    key_day = MONDAY.isoformat()
    assert outbox_dicts(app, "created_at") == [
        _row(
            ident[demo.principal],
            demo.principal,
            "attendance.missing_rollcall",
            f"红星小学：{DAY_ZH}以下班级还没有点名：\n• 5年级1班\n• 6年级1班",
            [],
            normal,
            f"att.norc:{SCHOOL_A}:{key_day}",
            ("school", SCHOOL_A),
            shanghai,
            close_at,
        ),
        _row(
            ident[PRINCIPAL_B],
            PRINCIPAL_B,
            "attendance.missing_rollcall",
            f"东乡第一初级中学: no roll-call yet on {DAY_EN} for these classes:\n"
            "• Grade 1 1班\n• Grade 8 2班\n• Grade 9 1班",
            [],
            normal,
            f"att.norc:{SCHOOL_B}:{key_day}",
            ("school", SCHOOL_B),
            URUMQI,
            close_at,
        ),
        _row(
            ident[demo.teacher],
            demo.teacher,
            "attendance.absence_alert",
            f"3年级1班，{DAY_ZH}：无故缺勤：\n• {n_kin}\n• {n_orphan} （未登记家长）\n• {n_mother}\n"
            "已询问其他学生家长原因，回复会发到这里。",
            [
                [(f"📞 {n_kin}的家长", f"abc:{kin_unknown}:{kin}")],
                [(f"📞 {n_mother}的母亲", f"abc:{with_mother}:{mother}")],
            ],
            urgent,
            f"att.abs:{A1}:{key_day}:{records[kin_unknown]}",
            ("school_class", A1),
            shanghai,
            close_at,
        ),
        _row(
            ident[TEACHER[A2]],
            TEACHER[A2],
            "attendance.absence_alert",
            # The moved pupil's guardian has no chat account: the teacher is not told they were asked.
            f"4年级1班，{DAY_ZH}：无故缺勤：\n• {n_moved} （家长收不到聊天消息，请打电话）\n没有家长能在聊天中被询问。",
            [[(f"📞 {n_moved}的{_guardian(app, moved)[1]}", f"abc:{moved}:{_guardian(app, moved)[0]}")]],
            urgent,
            f"att.abs:{A2}:{key_day}:{records[moved]}",
            ("school_class", A2),
            shanghai,
            close_at,
        ),
        _row(
            ident[TEACHER[B1]],
            TEACHER[B1],
            "attendance.absence_alert",
            f"Grade 7 1班, {DAY_EN}: absent without explanation:\n• {n_far}\n"
            "Their guardians have been asked why. Answers will reach you here.",
            [[(f"📞 {n_far}'s {far_relation}", f"abc:{far}:{far_guardian}")]],
            urgent,
            f"att.abs:{B1}:{key_day}:{records[far]}",
            ("school_class", B1),
            URUMQI,
            close_at,
        ),
        _row(
            ident[kin],
            kin,
            "attendance.absence_question",
            f"{n_kin}今天（{DAY_ZH}）没有到红星小学。是什么原因？",
            _answer_buttons(records[kin_unknown], ANSWERS_ZH),
            urgent,
            f"att.ask:{records[kin_unknown]}",
            ("attendance_record", records[kin_unknown]),
            shanghai,
            close_at,
        ),
        _row(
            ident[mother],
            mother,
            "attendance.absence_question",
            f"{n_mother}今天（{DAY_ZH}）没有到红星小学。是什么原因？",
            _answer_buttons(records[with_mother], ANSWERS_ZH),
            urgent,
            f"att.ask:{records[with_mother]}",
            ("attendance_record", records[with_mother]),
            shanghai,
            close_at,
        ),
        _row(
            ident[far_guardian],
            far_guardian,
            "attendance.absence_question",
            f"{n_far} is not at 东乡第一初级中学 today ({DAY_EN}). Why?",
            _answer_buttons(records[far], ANSWERS_EN),
            urgent,
            f"att.ask:{records[far]}",
            ("attendance_record", records[far]),
            URUMQI,
            close_at,
        ),
        _row(
            ident[TEACHER[B1]],
            TEACHER[B1],
            "attendance.case",
            f"⚠️ Dropout risk: {n_far} (Grade 7 1班), 3 school days absent in a row. "
            "Please contact the family; log what you do.",
            [[("Open the case", f"cso:{case_id}")]],
            urgent,
            f"att.case:{case_id}:open",
            ("dropout_case", case_id),
            URUMQI,
            close_at,
        ),
    ]
    processed = {
        (with_mother, MONDAY): close_at,
        (kin_unknown, MONDAY): close_at,
        (orphan, MONDAY): close_at,
        (late, MONDAY): None,  # late is not an absence
        (moved, MONDAY): close_at,
        (far, MONDAY): close_at,
        (far, THURSDAY): at(THURSDAY, 12, 30),
        (far, FRIDAY): at(FRIDAY, 12, 30),
        (friday_only, FRIDAY): None,  # another day's absence waits for that day's close
    }
    assert _alerted(app) == processed

    # Run again an hour later: nothing new is queued and nothing is marked again.
    with transaction(app.session_factory) as s:
        again = close_day(s, MONDAY, close_at + timedelta(hours=1))
    assert again == CloseSummary(
        day=MONDAY, schools_closed=2, classes_missing=5, principal_notices=2, messages_queued=0
    )
    assert _alerted(app) == processed
    assert len(outbox_dicts(app, "created_at")) == 9


def _persons_messaged(app: App) -> list[int]:
    return [row["person_id"] for row in outbox_dicts(app, "created_at")]


def _second_school_at_risk(app: App) -> int:
    """A grade 7 pupil absent Thursday, Friday and today (a dropout trigger), not yet processed."""
    far = _pupils(app, B1)[1]
    _history(app, B1, THURSDAY, [far], alerted_at=at(THURSDAY, 10, 30))
    _history(app, B1, FRIDAY, [far], alerted_at=at(FRIDAY, 10, 30))
    _rollcall(app, B1, MONDAY, {far: Mark.ABSENT}, at(MONDAY, 8))
    return far


def _one_absent_in_each_school(app: App, demo: DemoPeople) -> tuple[int, int, int]:
    """A first-school pupil absent today and the second school's pupil at risk, everyone concerned with a
    console account. → (the absent pupil, the far pupil, the absent pupil's mother)."""
    absent = _pupils(app, A1)[1]
    _rollcall(app, A1, MONDAY, {absent: Mark.ABSENT}, at(MONDAY, 8))
    far = _second_school_at_risk(app)
    far_guardian, _relation = _guardian(app, far)
    mother, _relation = _guardian(app, absent)
    for person_id in (demo.principal, PRINCIPAL_B, demo.teacher, TEACHER[B1], mother, far_guardian):
        _identity(app, person_id)
    return absent, far, mother


def _first_school_closed(schools_skipped: int) -> CloseSummary:
    """The summary of a close of the first school alone: its one absence, its missing roll-calls."""
    return CloseSummary(
        day=MONDAY,
        schools_closed=1,
        schools_skipped=schools_skipped,
        classes_missing=3,
        absences_alerted=1,
        teacher_alerts=1,
        guardian_questions=1,
        principal_notices=1,
        cases_opened=0,
        messages_queued=3,
    )


def test_a_close_for_one_school_leaves_the_other_alone(app, demo) -> None:  # type: ignore[no-untyped-def]
    absent, far, mother = _one_absent_in_each_school(app, demo)
    close_at = at(MONDAY, 10, 30)
    with transaction(app.session_factory) as s:
        summary = close_day(s, MONDAY, close_at, school_ids=[SCHOOL_A])
    assert summary == _first_school_closed(schools_skipped=0)
    assert _persons_messaged(app) == [demo.principal, demo.teacher, mother]
    assert _alerted(app) == {
        (absent, MONDAY): close_at,
        (far, THURSDAY): at(THURSDAY, 10, 30),
        (far, FRIDAY): at(FRIDAY, 10, 30),
        (far, MONDAY): None,  # the second school's close has not run
    }
    with app.session_factory() as s:
        assert s.scalars(select(DropoutCase)).all() == []


def test_a_school_before_its_own_earlier_cutoff_is_skipped_by_the_county_close(app, demo) -> None:  # type: ignore[no-untyped-def]
    _set_school(app, SCHOOL_A, cutoff=time(9, 30))  # the primary school closes half an hour early
    _absent, far, mother = _one_absent_in_each_school(app, demo)
    close_at = at(MONDAY, 9, 45)
    with transaction(app.session_factory) as s:
        summary = close_day(s, MONDAY, close_at)
    assert summary == _first_school_closed(schools_skipped=1)
    assert _persons_messaged(app) == [demo.principal, demo.teacher, mother]
    assert _alerted(app)[(far, MONDAY)] is None
    with transaction(app.session_factory) as s:
        assert close_day(s, MONDAY, at(MONDAY, 9, 29)) == CloseSummary(day=MONDAY, schools_skipped=2)


@pytest.fixture
def machine_in_los_angeles() -> Iterator[None]:
    """The process's local time zone far from the schools', so only the schools' zones give the day."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/Los_Angeles"
    time_module.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time_module.tzset()


def test_nudge_exact_messages_in_the_half_hour_before_the_cutoff(app, demo, machine_in_los_angeles) -> None:  # type: ignore[no-untyped-def]
    # The primary school keeps Urumqi time: its cutoff, 10:00 there, is 04:00 UTC.
    _set_school(app, SCHOOL_A, tz=URUMQI)
    ident = {
        demo.teacher: _identity(app, demo.teacher),
        TEACHER[A2]: _identity(app, TEACHER[A2]),
        TEACHER[A3]: _identity(app, TEACHER[A3], "en"),
        TEACHER[B1]: _identity(app, TEACHER[B1]),
    }
    _history(app, A1, FRIDAY, [], alerted_at=None)  # grade 3 called the roll on Friday, not today
    _history(app, A2, MONDAY, [], alerted_at=None)  # grade 4 has called it today
    with transaction(app.session_factory) as s:
        assert nudge_missing_rollcalls(s, utc(MONDAY, 4, 0)) == 0  # the cutoff itself: too late
        assert nudge_missing_rollcalls(s, utc(MONDAY, 3, 29)) == 0  # 31 minutes before: too early
    assert outbox_dicts(app, "created_at") == []
    start = utc(MONDAY, 3, 30)
    with transaction(app.session_factory) as s:
        assert nudge_missing_rollcalls(s, start) == 2
    key_day = MONDAY.isoformat()
    assert outbox_dicts(app, "created_at") == [
        _row(
            ident[demo.teacher],
            demo.teacher,
            "attendance.nudge",
            "⏰ 3年级1班今天还没有点名，请在截止时间前完成。",
            [[("去点名", "go:rollcall")]],
            0,
            f"att.nudge:{A1}:{key_day}",
            ("school_class", A1),
            URUMQI,
            start,
        ),
        _row(
            ident[TEACHER[A3]],
            TEACHER[A3],
            "attendance.nudge",
            "⏰ Grade 5 1班 has no roll-call yet today. Please take it before the cutoff.",
            [[("Take roll-call", "go:rollcall")]],
            0,
            f"att.nudge:{A3}:{key_day}",
            ("school_class", A3),
            URUMQI,
            start,
        ),
    ]
    with transaction(app.session_factory) as s:
        assert nudge_missing_rollcalls(s, utc(MONDAY, 3, 59)) == 0  # once per class and day


def test_nudge_scheduled_for_one_school_hours_before_its_cutoff(app, demo) -> None:  # type: ignore[no-untyped-def]
    for person_id in (demo.teacher, TEACHER[B1]):
        _identity(app, person_id)
    with transaction(app.session_factory) as s:
        assert nudge_missing_rollcalls(s, at(MONDAY, 7), school_ids=[SCHOOL_A]) == 1
        assert nudge_missing_rollcalls(s, at(MONDAY, 10), school_ids=[SCHOOL_A, SCHOOL_B]) == 0
    assert _persons_messaged(app) == [demo.teacher]
    assert outbox_dicts(app, "created_at")[0]["dedupe_key"].startswith(
        f"att.nudge:{A1}:{MONDAY.isoformat()}|"
    )


def test_a_county_of_more_than_900_schools_is_alerted_in_class_order(app, demo) -> None:  # type: ignore[no-untyped-def]
    """One teacher with a class in the county's last school and a newer one in its first school, one
    parent with a child in each: the alerts follow the class ids, however the schools are batched, and
    the parent gets one question naming both children."""
    with transaction(app.session_factory) as s:
        s.add_all([School(region_id=1, name=f"第{n}村小") for n in range(900)])
        s.flush()
        last = s.scalars(select(School.id).order_by(School.id.desc())).first()
        assert last == 902
        classes = []
        for school_id, grade in ((last, 1), (SCHOOL_A, 2)):
            klass = SchoolClass(school_id=school_id, grade=grade, name="1班", class_teacher_id=demo.teacher)
            s.add(klass)
            s.flush()
            classes.append(klass)
        parent = Person(name="杨爸爸", created_at=at(MONDAY, 7))
        s.add(parent)
        s.flush()
        records = []
        for klass in classes:
            pupil = Student(
                school_id=klass.school_id,
                class_id=klass.id,
                student_no=f"{klass.grade:02d}0101",
                name=f"杨{klass.grade}娃",
                household=[],
                active=True,
            )
            s.add(pupil)
            s.flush()
            s.add(Guardian(person_id=parent.id, student_id=pupil.id, relation="父亲"))
            record = absence(pupil, MONDAY, demo.teacher)
            s.add(record)
            s.flush()
            records.append(record.id)
        class_ids = [klass.id for klass in classes]
        parent_id = parent.id
    assert class_ids[0] < class_ids[1]
    for person_id in (demo.teacher, parent_id):
        _identity(app, person_id)
    with transaction(app.session_factory) as s:
        summary = close_day(s, MONDAY, at(MONDAY, 10, 30))
    assert (summary.schools_closed, summary.schools_skipped, summary.absences_alerted) == (902, 0, 2)
    assert [(row["person_id"], row["kind"], row["ref"]) for row in outbox_dicts(app, "created_at")] == [
        (demo.teacher, "attendance.absence_alert", ("school_class", class_ids[0])),
        (demo.teacher, "attendance.absence_alert", ("school_class", class_ids[1])),
        (parent_id, "attendance.absence_question", ("attendance_record", records[0])),
    ]
    question = next(row for row in outbox_dicts(app, "created_at") if row["person_id"] == parent_id)
    assert "杨1娃" in question["text"] and "杨2娃" in question["text"]
    assert [b["payload"] for row in question["buttons"] for b in row] == [
        f"aba:{record}:{answer}"
        for record in records
        for answer in ("sick", "personal", "unknown", "on_the_way")
    ]
