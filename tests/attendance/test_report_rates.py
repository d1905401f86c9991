"""Pins the report's daily and class rates from real roll-calls, an unexplained 缺 counting as absent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.attendance.report import Scope, build_report
from chatbot.channels.console import ConsoleChannel
from db.models import SchoolClass
from db.models.attendance import AttendanceRecord, Mark
from tests.attendance.helpers import MONDAY, at, teacher_class, texts

TUESDAY = MONDAY + timedelta(days=1)


def _grade4_teacher(app: App, school_id: int) -> int:
    """The class teacher of the demo school's grade-4 class (42 pupils)."""
    with app.session_factory() as s:
        klass = s.scalars(
            select(SchoolClass).where(SchoolClass.school_id == school_id, SchoolClass.grade == 4)
        ).one()
        assert klass.class_teacher_id is not None
        return klass.class_teacher_id


def _mark(console: ConsoleChannel, teacher: int, text: str, when) -> None:  # type: ignore[no-untyped-def]
    assert "已记录" in texts(console.send(teacher, text, now=when)), text


def test_daily_rate_counts_unexplained_absence_as_absent(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    class3, pupils3 = teacher_class(app, demo.teacher)
    assert len(pupils3) == 38
    with app.session_factory() as s:
        school = s.get(SchoolClass, class3).school_id
    teacher4 = _grade4_teacher(app, school)

    # Monday: grade 3 has two unexplained absences and one sick leave; grade 4 only a late pupil.
    _mark(console, demo.teacher, "缺 1 2", at(MONDAY, 8))
    _mark(console, demo.teacher, "病假 3", at(MONDAY, 8, 5))
    _mark(console, teacher4, "迟到 5", at(MONDAY, 8, 10))
    # Tuesday: only grade 3 takes roll-call, with one unexplained absence.
    _mark(console, demo.teacher, "缺 4", at(TUESDAY, 8))
    with app.session_factory() as s:
        statuses = sorted(str(m) for m in s.scalars(select(AttendanceRecord.status)))
    assert statuses == sorted(
        [Mark.ABSENT, Mark.ABSENT, Mark.SICK, Mark.LATE, Mark.ABSENT]
    )  # the data really came from the roll-calls

    with app.session_factory() as s:
        report = build_report(s, Scope("school", school), MONDAY, TUESDAY)

    [(school_name, points)] = report.daily.items()
    assert school_name == "红星小学"
    assert [day for day, _rate in points] == [MONDAY, TUESDAY]
    # Monday: 3 of the 38 + 42 expected pupil-days away (缺, 缺, 病假); late is present.
    assert points[0][1] == pytest.approx(1 - 3 / 80)
    # Tuesday: grade 4 had no roll-call, so only grade 3's 38 count; 1 缺.
    assert points[1][1] == pytest.approx(1 - 1 / 38)

    rows = {row.klass: row for row in report.classes}
    assert (rows["3年级1班"].days, rows["3年级1班"].absent, rows["3年级1班"].late) == (2, 4, 0)
    assert rows["3年级1班"].rate == pytest.approx(1 - 4 / 76)
    assert (rows["4年级1班"].days, rows["4年级1班"].absent, rows["4年级1班"].late) == (1, 0, 1)
    assert rows["4年级1班"].rate == pytest.approx(1.0)
    assert rows["5年级1班"].rate is None  # no roll-call: no rate rather than 0%
    [school_row] = report.schools
    assert school_row.rate == pytest.approx(1 - 4 / (76 + 42))
    assert report.overall_rate() == pytest.approx(1 - 4 / (76 + 42))
    assert len(report.absences) == 4
