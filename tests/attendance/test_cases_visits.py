"""Lists for the reminders engine: the home-visit list (家访) of a class and the pupils who never
came back after a date, pinned on roll-calls and records written straight into the database."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update

from chatbot.app import App
from chatbot.attendance.cases import VisitEntry, home_visit_list, never_returned
from db.models import Region, School, SchoolClass, Student
from db.models.attendance import CaseStatus, Mark
from db.session import transaction
from tests.attendance.helpers import MONDAY, add_case, add_marks, add_rollcalls

D = MONDAY


def ago(n: int) -> date:
    return D - timedelta(days=n)


def _class(app: App, grade: int) -> tuple[int, list[int]]:
    """(class id, pupil ids in roll order) of a class of 红星小学."""
    with app.session_factory() as s:
        klass = s.scalars(
            select(SchoolClass).join(School).where(School.name == "红星小学", SchoolClass.grade == grade)
        ).one()
        pupils = list(
            s.scalars(select(Student.id).where(Student.class_id == klass.id).order_by(Student.student_no))
        )
        return klass.id, pupils


def _region_settings(app: App, settings: dict[str, Any]) -> None:
    with transaction(app.session_factory) as s:
        region = s.scalars(select(Region)).one()
        region.settings = {"attendance": settings}
        s.execute(update(Student).values(household=[]))  # no household flags unless a test sets them


def _student(app: App, student_id: int, **values: Any) -> None:
    with transaction(app.session_factory) as s:
        student = s.get(Student, student_id)
        assert student is not None
        for key, value in values.items():
            setattr(student, key, value)


def _names(app: App) -> dict[int, str]:
    with app.session_factory() as s:
        return {sid: name for sid, name in s.execute(select(Student.id, Student.name))}


def test_home_visit_list_names_open_cases_poor_households_and_absence_tiers_in_roll_order(app: App) -> None:
    _region_settings(app, {"rate_window": 10})  # at least 10 days are needed: the window is exactly that
    class_id, pupils = _class(app, 3)
    other_class, others = _class(app, 4)
    # Twelve roll-call days up to D in both classes, and one after D (a later day being recorded).
    add_rollcalls(app, class_id, [*(ago(n) for n in range(12)), ago(-1)])
    add_rollcalls(app, other_class, [ago(n) for n in range(12)])
    a, b, c, late, poor, not_poor, gone, with_case, closed = pupils[2:11]

    add_marks(app, a, [D])
    add_marks(app, a, [ago(3)], Mark.SICK)
    add_marks(app, a, [ago(6)], Mark.PERSONAL)  # 3 of the last 10 days: 30%, over 20%
    add_marks(app, b, [ago(1), D])  # 2 of 10: 20%, over 10% only
    add_marks(app, b, [ago(10), ago(11)])  # before the window
    add_marks(app, c, [ago(5), ago(-1)])  # 1 of 10 (the later day is not counted): 10%, not over
    add_marks(app, late, [ago(n) for n in range(10)], Mark.LATE)
    _student(app, a, household=["registered_poor"])
    _student(app, poor, household=["dibao", "registered_poor"])
    _student(app, not_poor, household=["dibao"])
    _student(app, gone, household=["registered_poor"], active=False)
    _student(app, with_case, student_no="000001")  # first in roll order, though its id is not
    add_case(app, with_case, status=CaseStatus.OPEN, opened_on=ago(20), last=ago(10))
    add_case(app, closed, status=CaseStatus.CLOSED, opened_on=ago(20), last=ago(10))
    _student(app, others[0], household=["registered_poor"])  # another class
    # Moved into this class from grade 4, with a case and absences recorded there.
    moved = others[1]
    add_case(app, moved, status=CaseStatus.OPEN, opened_on=ago(20), last=ago(10))
    add_marks(app, moved, [ago(4), ago(2)])
    _student(app, moved, class_id=class_id)

    names = _names(app)
    with app.session_factory() as s:
        assert home_visit_list(s, class_id, D) == [
            VisitEntry(with_case, names[with_case], ("open_case",)),
            VisitEntry(a, names[a], ("registered_poor", "absence_tier_2")),
            VisitEntry(b, names[b], ("absence_tier_1",)),
            VisitEntry(poor, names[poor], ("registered_poor",)),
        ]
        assert home_visit_list(s, 999_999, D) == []


def test_home_visit_rates_look_back_75_calendar_days_exclusive(app: App) -> None:
    _region_settings(app, {"rate_min_days": 1})
    class_id, pupils = _class(app, 3)
    add_rollcalls(app, class_id, [ago(80), ago(75), ago(74), D])
    old, recent = pupils[2], pupils[3]
    add_marks(app, old, [ago(80), ago(75)])  # both before the look-back: 0 of 2 days
    add_marks(app, recent, [D])  # 1 of 2 days: 50%
    name = _names(app)[recent]
    with app.session_factory() as s:
        assert home_visit_list(s, class_id, D) == [VisitEntry(recent, name, ("absence_tier_2",))]


def test_never_returned_lists_pupils_absent_at_every_roll_call_of_their_class(app: App) -> None:
    class_id, pupils = _class(app, 3)
    other_class, others = _class(app, 4)
    span = [ago(2), ago(1), D]
    add_rollcalls(app, class_id, [*span, ago(-1)])
    add_rollcalls(app, other_class, span)
    mixed, first, gone, late, came_back, two_of_three = pupils[2:8]
    add_marks(app, mixed, [ago(2)])
    add_marks(app, mixed, [ago(1)], Mark.SICK)
    add_marks(app, mixed, [D], Mark.PERSONAL)
    add_marks(app, first, span)
    _student(app, first, student_no="000001")
    add_marks(app, gone, span)
    _student(app, gone, active=False)
    add_marks(app, late, span, Mark.LATE)
    add_marks(app, came_back, [ago(2), ago(1), ago(-1)])  # present on D; absent again after it
    add_marks(app, two_of_three, [ago(2), ago(1)])
    add_marks(app, others[0], span)  # absent throughout, but in another class
    with app.session_factory() as s:
        assert [p.id for p in never_returned(s, class_id, ago(2), D)] == [first, mixed]
        assert [p.id for p in never_returned(s, other_class, ago(2), D)] == [others[0]]
        assert never_returned(s, class_id, ago(-3), ago(-2)) == []  # no roll-call yet: nothing known
