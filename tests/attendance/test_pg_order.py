"""Attendance orderings whose tie-breaker only PostgreSQL can show.

On SQLite rows come back in rowid order, so a dropped ORDER BY column goes unnoticed. On PostgreSQL a
row whose indexed column is updated (away and back, in two transactions: not a HOT update) is written
anew behind the others; each test moves the row that should come first this way, then runs the daily
close or builds the report and checks the order: two classes of one grade without a roll-call in the
principal's list, cases opened on the same day in the report, and the schools a nudge goes through (seen
when their local days differ: each day's nudges are queued together, in the order of the schools).
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy import select, text

from chatbot.app import App
from chatbot.attendance.close import close_day, nudge_missing_rollcalls
from chatbot.attendance.report import Scope, build_report
from chatbot.channels.console import ConsoleChannel
from db.models import OutboxMessage, School, SchoolClass, Student
from db.session import transaction
from tests.attendance.helpers import MONDAY, add_case, at
from tests.conftest import PG_URL, DemoPeople
from tests.storage_order import move_behind

CLOSE_AT = at(MONDAY, 11)  # after the 10:00 cutoff


def texts_of(app: App, kind: str) -> list[str]:
    with app.session_factory() as s:
        query = select(OutboxMessage.text).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        return [t or "" for t in s.scalars(query)]


def test_the_principal_lists_classes_of_one_grade_by_name(app: App, demo: DemoPeople) -> None:
    ConsoleChannel(app.session_factory, app.router, clock=app.clock).external_id(demo.principal)
    with transaction(app.session_factory) as s:
        s.add(SchoolClass(school_id=1, grade=3, name="2班"))
    move_behind(app, "school_class", 1, "name", "0班")
    with transaction(app.session_factory) as s:
        close_day(s, MONDAY, CLOSE_AT, school_ids=[1])
    assert texts_of(app, "attendance.missing_rollcall") == [
        "红星小学：11月23日 周一以下班级还没有点名：\n• 3年级1班\n• 3年级2班\n• 4年级1班\n• 5年级1班\n• 6年级1班"
    ]


def test_the_report_lists_cases_opened_on_one_day_by_id(app: App) -> None:
    with app.session_factory() as s:
        pupils = list(s.scalars(select(Student.id).where(Student.class_id == 1).order_by(Student.id)))[:3]
    # Opened in the reverse order of the pupils: the order of pupils is not the order wanted.
    cases = [add_case(app, pid) for pid in pupils[::-1]]
    move_behind(app, "dropout_case", cases[0], "school_id", 2)
    with app.session_factory() as s:
        report = build_report(s, Scope("class", 1), MONDAY, MONDAY)
    assert [row[0].id for row in report.cases] == cases


def test_nudges_of_schools_on_different_local_days_come_in_school_order(app: App) -> None:
    # Tuesday 08:00 in Shanghai is Monday 14:00 in Honolulu; each school's cutoff is a quarter of an hour
    # away, so the scheduler's run nudges both, school 1 for Tuesday and school 2 for Monday.
    now = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    with transaction(app.session_factory) as s:
        for school_id, tz, cutoff in ((1, None, time(8, 15)), (2, "Pacific/Honolulu", time(14, 15))):
            school = s.get(School, school_id)
            assert school is not None
            school.timezone = tz or school.timezone
            school.rollcall_cutoff = cutoff
        teachers = [(k.class_teacher_id, k.id) for k in (s.get(SchoolClass, 1), s.get(SchoolClass, 5)) if k]
    console = ConsoleChannel(app.session_factory, app.router, clock=app.clock)
    for teacher, _class_id in teachers:
        assert teacher is not None
        console.external_id(teacher)
    move_behind(app, "school", 1, "name", "moved-away")
    if PG_URL:  # with the region's one row known, the planner walks the schools as they are stored
        with app.engine.begin() as conn:
            conn.execute(text("ANALYZE region"))
    with transaction(app.session_factory) as s:
        nudge_missing_rollcalls(s, now)
    with app.session_factory() as s:
        query = select(OutboxMessage.person_id, OutboxMessage.ref_id).where(
            OutboxMessage.kind == "attendance.nudge"
        )
        assert list(s.execute(query.order_by(OutboxMessage.id))) == teachers
