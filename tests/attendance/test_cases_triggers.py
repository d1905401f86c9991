"""Dropout-risk triggers and case opening, pinned on histories written straight into the database.

`find_triggers` counts a pupil's history in the class's own roll-call days (the last
`max(rate_window, consecutive_days)` of them, newest first, within 75 calendar days); `open_cases`
writes the case rows, their "opened" ledger lines and the class teacher's alert.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from chatbot.app import App
from chatbot.attendance.cases import SchoolRow, find_triggers, open_cases
from chatbot.attendance.close import close_day
from chatbot.attendance.rules import Rules
from chatbot.channels.console import ConsoleChannel
from db.models import OutboxMessage, OutboxStatus, Priority, School, SchoolClass, Student
from db.models.attendance import CaseEvent, CaseEventKind, CaseStatus, CaseTrigger, DropoutCase, Mark
from db.session import transaction
from tests.attendance.helpers import MONDAY, add_case, add_marks, add_rollcalls, at, identity_of, name_of

D = MONDAY  # the day being closed
THURSDAY, FRIDAY = D - timedelta(days=4), D - timedelta(days=3)
CONSECUTIVE_3 = (CaseTrigger.CONSECUTIVE, {"days": 3})


def ago(n: int) -> date:
    return D - timedelta(days=n)


def _class(app: App, school_index: int, grade: int) -> tuple[int, int, list[int]]:
    """(class id, school id, pupil ids in roll order) of a demo class: school 0 is 红星小学, 1 the junior school."""
    with app.session_factory() as s:
        school_id = s.scalars(select(School.id).order_by(School.id)).all()[school_index]
        klass = s.scalars(
            select(SchoolClass).where(SchoolClass.school_id == school_id, SchoolClass.grade == grade)
        ).one()
        pupils = list(
            s.scalars(select(Student.id).where(Student.class_id == klass.id).order_by(Student.student_no))
        )
        return klass.id, school_id, pupils


def _marks(
    app: App, student_id: int, days: Iterable[date], status: Mark = Mark.ABSENT, processed: bool = True
) -> None:
    """Records of one pupil; days before D count as closed already (alerted) unless said otherwise."""
    add_marks(app, student_id, days, status, closed_through=ago(1) if processed else None)


def _triggers(
    app: App, rules: Rules, school_ids: list[int] | None = None, day: date = D
) -> dict[int, tuple[CaseTrigger, dict[str, Any]]]:
    with app.session_factory() as s:
        return find_triggers(s, school_ids, day, rules)


def test_streak_and_rate_are_judged_on_the_newest_roll_call_days_of_the_class(app: App) -> None:
    class_id, _school, pupils = _class(app, 0, 3)
    # 27 roll-call days up to two days after D: the window is the 20 newest up to D (D-19 … D).
    add_rollcalls(app, class_id, [ago(n) for n in range(-2, 25)])
    p0, p1, p2, p3, p4, p5, p6, p7 = pupils[:8]
    for pupil in (p0, p1):
        _marks(app, pupil, [ago(2), ago(1), D])  # three days in a row: a streak
    # Sick today (never a streak), unexplained on D-1, D-2 and D-10: 4 of 20 days, exactly 20%: tier 1.
    _marks(app, p2, [D], Mark.SICK)
    _marks(app, p2, [ago(10), ago(2), ago(1)])
    # Only late today: not evaluated at all, however often absent before (5 of 20 would be 25%).
    _marks(app, p3, [D], Mark.LATE)
    _marks(app, p3, [ago(13), ago(10), ago(7), ago(4), ago(1)])
    # Today's absence was processed by an earlier close already.
    add_marks(app, p4, [ago(2), ago(1), D], closed_through=D)
    # A closed case does not stop a new one; an open case does.
    for pupil in (p5, p6):
        _marks(app, pupil, [ago(2), ago(1), D])
    for pupil, status in ((p5, CaseStatus.CLOSED), (p6, CaseStatus.OPEN)):
        add_case(app, pupil, status=status, opened_on=ago(30), last=ago(20))
    # Absent today and on D-10, late the six days before: late is not absent, 2 of 20 is only 10%.
    _marks(app, p7, [ago(10), D])
    _marks(app, p7, [ago(n) for n in range(1, 7)], Mark.LATE)

    assert _triggers(app, Rules()) == {
        p0: CONSECUTIVE_3,
        p1: CONSECUTIVE_3,
        p2: (CaseTrigger.RATE, {"days": 20, "absent": 4, "percent": 20, "tier": 1}),
        p5: CONSECUTIVE_3,
    }


def test_only_the_days_absences_not_yet_processed_are_evaluated(app: App) -> None:
    class_id, _school, pupils = _class(app, 0, 3)
    # The class took no roll-call on D; the pupil missed the three roll-calls before it, unclosed.
    add_rollcalls(app, class_id, [ago(3), ago(2), ago(1)])
    _marks(app, pupils[2], [ago(3), ago(2), ago(1)], processed=False)
    assert _triggers(app, Rules()) == {}
    assert _triggers(app, Rules(), day=ago(1)) == {pupils[2]: CONSECUTIVE_3}


def test_a_close_for_some_schools_evaluates_only_their_pupils(app: App) -> None:
    class_a, school_a, pupils_a = _class(app, 0, 3)
    class_b, school_b, pupils_b = _class(app, 1, 7)
    for class_id, pupil in ((class_a, pupils_a[2]), (class_b, pupils_b[0])):
        add_rollcalls(app, class_id, [ago(2), ago(1), D])
        _marks(app, pupil, [ago(2), ago(1), D])
    assert _triggers(app, Rules(), [school_a]) == {pupils_a[2]: CONSECUTIVE_3}
    assert _triggers(app, Rules(), [school_b]) == {pupils_b[0]: CONSECUTIVE_3}
    assert _triggers(app, Rules()) == {pupils_a[2]: CONSECUTIVE_3, pupils_b[0]: CONSECUTIVE_3}


def test_each_class_keeps_its_own_newest_days(app: App) -> None:
    """With a window of 3 days, each class keeps its own 3 newest roll-calls, not the 3 newest overall."""
    rules = Rules(consecutive_days=3, rate_window=3, rate_min_days=3)
    class_a, _school, pupils_a = _class(app, 0, 3)
    class_b, _school, pupils_b = _class(app, 0, 4)
    for class_id, pupil in ((class_a, pupils_a[2]), (class_b, pupils_b[0])):
        add_rollcalls(app, class_id, [ago(n) for n in range(5)])
        _marks(app, pupil, [ago(2), ago(1), D])
    # Absent on the newest day and the two oldest: only 1 of the 3 newest days, 33%.
    _marks(app, pupils_a[3], [ago(4), ago(3), D])
    assert _triggers(app, rules) == {
        pupils_a[2]: CONSECUTIVE_3,
        pupils_b[0]: CONSECUTIVE_3,
        pupils_a[3]: (CaseTrigger.RATE, {"days": 3, "absent": 1, "percent": 33, "tier": 2}),
    }


def test_a_rate_needs_at_least_the_minimum_days_and_one_short_class_stops_nobody(app: App) -> None:
    class_a, _school, pupils_a = _class(app, 0, 3)
    class_b, _school, pupils_b = _class(app, 0, 4)
    add_rollcalls(app, class_a, [ago(n) for n in range(10)])  # exactly rate_min_days
    add_rollcalls(app, class_b, [ago(n) for n in range(9)])  # one day short
    # The short class's pupil is stored (and so read) first: 2 of 9 days would be 22%.
    _marks(app, pupils_b[0], [ago(4), D])
    _marks(app, pupils_a[2], [ago(6), ago(3), D])
    assert _triggers(app, Rules()) == {
        pupils_a[2]: (CaseTrigger.RATE, {"days": 10, "absent": 3, "percent": 30, "tier": 2}),
    }


def test_history_reaches_back_75_calendar_days_exclusive(app: App) -> None:
    class_id, _school, pupils = _class(app, 0, 3)
    add_rollcalls(app, class_id, [ago(80), ago(75), ago(74), D])
    _marks(app, pupils[2], [ago(80), ago(75), ago(74), D])
    # D-74 is inside the look-back, D-75 and D-80 are not: 2 of 2 days, 100%.
    assert _triggers(app, Rules(rate_min_days=1)) == {
        pupils[2]: (CaseTrigger.RATE, {"days": 2, "absent": 2, "percent": 100, "tier": 2}),
    }


def test_the_close_opens_cases_logs_them_and_alerts_the_class_teacher_in_the_school_time_zone(
    app: App, console: ConsoleChannel
) -> None:
    class31, school_id, pupils31 = _class(app, 0, 3)
    class41, _school, pupils41 = _class(app, 0, 4)
    with transaction(app.session_factory) as s:
        school = s.get(School, school_id)
        assert school is not None
        school.timezone = "Asia/Urumqi"  # UTC+6: the cutoff is 10:00 there, 12:00 in Shanghai
        region_id = school.region_id
        klass31 = s.get(SchoolClass, class31)
        assert klass31 is not None
        klass31.class_teacher_id = None  # grade 3 has lost its class teacher
        klass41 = s.get(SchoolClass, class41)
        assert klass41 is not None
        teacher41 = klass41.class_teacher_id
        assert teacher41 is not None
    console.external_id(teacher41)
    days = [THURSDAY, FRIDAY, D]
    lone, alerted = pupils31[2], pupils41[0]  # the grade-3 pupil has the smaller id: opened first
    assert lone < alerted
    for class_id, pupil in ((class31, lone), (class41, alerted)):
        add_rollcalls(app, class_id, days)
        _marks(app, pupil, days)

    now = at(D, 12, 30)
    with transaction(app.session_factory) as s:
        summary = close_day(s, D, now)
    assert summary.cases_opened == 1  # one alert: the grade-3 case has nobody to tell

    with app.session_factory() as s:
        cases = list(s.scalars(select(DropoutCase).order_by(DropoutCase.student_id)))
        assert [
            (
                c.student_id,
                c.class_id,
                c.school_id,
                c.region_id,
                c.trigger,
                c.detail,
                c.status,
                c.level,
                c.assignee_id,
                c.opened_on,
                c.opened_at,
                c.last_activity_on,
                c.closed_at,
                c.outcome,
            )
            for c in cases
        ] == [
            (
                lone,
                class31,
                school_id,
                region_id,
                "consecutive",
                {"days": 3},
                "open",
                0,
                None,
                D,
                now,
                D,
                None,
                None,
            ),
            (
                alerted,
                class41,
                school_id,
                region_id,
                "consecutive",
                {"days": 3},
                "open",
                0,
                teacher41,
                D,
                now,
                D,
                None,
                None,
            ),
        ]
        events = list(s.scalars(select(CaseEvent).order_by(CaseEvent.case_id)))
        assert [(e.case_id, e.at, e.actor_id, e.kind, e.level, e.note) for e in events] == [
            (c.id, now, None, CaseEventKind.OPENED, 0, "consecutive")
            for c in sorted(cases, key=lambda c: c.id)
        ]
        case_id = cases[1].id
        rows = list(s.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("att.case:%"))))
    identity = identity_of(app, teacher41)
    assert [
        (
            r.person_id,
            r.identity_id,
            r.channel,
            r.kind,
            r.dedupe_key,
            r.ref_type,
            r.ref_id,
            r.tz,
            r.priority,
            r.status,
            r.not_before,
            r.created_at,
            r.text,
            r.buttons,
        )
        for r in rows
    ] == [
        (
            teacher41,
            identity,
            "console",
            "attendance.case",
            f"att.case:{case_id}:open|{identity}",
            "dropout_case",
            case_id,
            "Asia/Urumqi",
            int(Priority.URGENT),
            OutboxStatus.QUEUED,
            now,
            now,
            f"⚠️ 辍学风险：{name_of(app, alerted)}（4年级1班），连续3个上课日缺勤。请联系家庭，并记录劝返情况。",
            [[{"label": "打开台账", "payload": f"cso:{case_id}"}]],
        )
    ]


def _row(app: App, school_id: int, settings: dict[str, Any]) -> SchoolRow:
    with app.session_factory() as s:
        school = s.get(School, school_id)
        assert school is not None
        return SchoolRow(school.id, school.region_id, "Asia/Shanghai", settings)


def _opened(app: App) -> list[tuple[int, str, dict[str, Any]]]:
    with app.session_factory() as s:
        return [
            (c.student_id, c.trigger, c.detail)
            for c in s.scalars(select(DropoutCase).order_by(DropoutCase.student_id))
        ]


def _two_schools_absent(app: App, days: list[date]) -> tuple[int, int, int, int]:
    """The first pupil of 红星小学 grade 4 and of the junior school's grade 7, absent on `days`."""
    class_a, school_a, pupils_a = _class(app, 0, 4)
    class_b, school_b, pupils_b = _class(app, 1, 7)
    for class_id, pupil in ((class_a, pupils_a[0]), (class_b, pupils_b[0])):
        add_rollcalls(app, class_id, days)
        _marks(app, pupil, days)
    return school_a, pupils_a[0], school_b, pupils_b[0]


def test_open_cases_for_some_schools_leaves_the_others_alone(app: App) -> None:
    school_a, pupil_a, _school_b, _pupil_b = _two_schools_absent(app, [ago(2), ago(1), D])
    now = at(D, 10, 30)
    with transaction(app.session_factory) as s:
        alerts = open_cases(s, [_row(app, school_a, {})], D, now)
    assert [(a.person_id, a.kind) for a in alerts] == [(_teacher_of(app, pupil_a), "attendance.case")]
    assert _opened(app) == [(pupil_a, "consecutive", {"days": 3})]


def _teacher_of(app: App, student_id: int) -> int | None:
    with app.session_factory() as s:
        student = s.get(Student, student_id)
        assert student is not None
        return student.school_class.class_teacher_id


def test_every_school_under_two_rule_sets_judges_each_school_by_its_own_rules(app: App) -> None:
    # Two days absent: a case where the region asks for 2 days in a row, none under the default 3.
    school_a, pupil_a, school_b, _pupil_b = _two_schools_absent(app, [ago(1), D])
    rows = [
        _row(app, school_a, {"attendance": {"consecutive_days": 2}}),
        _row(app, school_b, {}),
    ]
    with transaction(app.session_factory) as s:
        open_cases(s, rows, D, at(D, 10, 30), every_school=True)
    assert _opened(app) == [(pupil_a, "consecutive", {"days": 2})]
