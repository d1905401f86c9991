"""Attendance reports for principals and admins: rates per class and school, absences, cases.

Rates only, never rankings: classes are listed in school/grade order. Aggregation is done in SQL
(group by class/school/day), so a region-wide report reads a few thousand summary rows. The report's
data types live in `report_model`, its workbook and chart in `report_files`; all are importable here.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from chatbot.attendance.report_coverage import ClassInfo, coverage_text, fill_coverage, missing_lines
from chatbot.attendance.report_files import chart_png, cjk_font_name, write_xlsx
from chatbot.attendance.report_model import AbsenceRow, AttendanceReport, CaseEntry, ClassRow, Scope
from chatbot.attendance.rules import ABSENCE_MARKS
from chatbot.attendance.texts import class_label_parts
from chatbot.i18n import _
from db.models import Region, School, SchoolClass, Student
from db.models.attendance import AttendanceRecord, CaseStatus, DropoutCase, Mark, RollCall

log = logging.getLogger(__name__)
MAX_ABSENCE_ROWS = 50_000


def _class_filter(scope: Scope) -> Any:
    if scope.kind == "class":
        return SchoolClass.id == scope.id
    if scope.kind == "school":
        return SchoolClass.school_id == scope.id
    return SchoolClass.school_id.in_(select(School.id).where(School.region_id == scope.id))


def scope_title(session: Session, scope: Scope) -> str | None:
    if scope.kind == "class":
        klass = session.get(SchoolClass, scope.id)
        return f"{klass.school.name} {class_label_parts(klass.grade, klass.name)}" if klass else None
    if scope.kind == "school":
        school = session.get(School, scope.id)
        return school.name if school else None
    region = session.get(Region, scope.id)
    return region.name if region else None


class _SchoolDay(NamedTuple):
    school_id: int
    day: date


@dataclass(frozen=True)
class _Period:
    """What every query of a report shares: the scope's class filter and the period."""

    where: Any
    first: date
    last: date

    @property
    def rollcalls(self) -> Any:
        return and_(RollCall.day >= self.first, RollCall.day <= self.last)


def build_report(session: Session, scope: Scope, first: date, last: date) -> AttendanceReport:
    """Everything the chat summary, the chart and the workbook show, for one scope and period."""
    title = scope_title(session, scope)
    if title is None:
        raise LookupError(scope)
    report = AttendanceReport(scope=scope, title=title, first=first, last=last)
    period = _Period(_class_filter(scope), first, last)
    classes = _classes(session, period)
    pupils = _pupils_per_class(session, period)
    days = _rollcall_days_per_class(session, period)
    marks = _marks_per_class(session, period)
    report.classes, per_school = _class_and_school_rows(classes, pupils, days, marks)
    report.schools = list(per_school.values())
    school_names = {school_id: row.school for school_id, row in per_school.items()}
    report.daily = _daily_rates(session, period, classes, pupils, school_names)
    report.absences = list(_absences(session, period))
    cases = _cases(session, period)
    report.cases = list(cases)
    report.open_cases_by_school = _open_cases_by_school(cases)
    fill_coverage(session, report, classes, period.where)
    return report


def _classes(session: Session, period: _Period) -> list[ClassInfo]:
    """Read the scope's classes with their school, in school/grade order."""
    return [
        ClassInfo(**row._mapping)
        for row in session.execute(
            select(
                SchoolClass.id.label("class_id"),
                School.id.label("school_id"),
                School.name.label("school_name"),
                SchoolClass.grade.label("grade"),
                SchoolClass.name.label("name"),
            )
            .join(School, School.id == SchoolClass.school_id)
            .where(period.where)
            .order_by(School.id, SchoolClass.grade, SchoolClass.name)
        )
    ]


def _pupils_per_class(session: Session, period: _Period) -> dict[int, int]:
    """Count the active pupils of each class: class → pupils."""
    return {
        row.class_id: row.pupils
        for row in session.execute(
            select(Student.class_id.label("class_id"), func.count().label("pupils"))
            .join(SchoolClass, SchoolClass.id == Student.class_id)
            .where(period.where, Student.active.is_(True))
            .group_by(Student.class_id)
        )
    }


def _rollcall_days_per_class(session: Session, period: _Period) -> dict[int, int]:
    """Count each class's roll-calls in the period: class → days."""
    return {
        row.class_id: row.days
        for row in session.execute(
            select(RollCall.class_id.label("class_id"), func.count().label("days"))
            .join(SchoolClass, SchoolClass.id == RollCall.class_id)
            .where(period.where, period.rollcalls)
            .group_by(RollCall.class_id)
        )
    }


def _marks_per_class(session: Session, period: _Period) -> dict[int, dict[str, int]]:
    """Count each class's late and other absence marks on its roll-call days: class → counts."""
    ar = AttendanceRecord
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {"absent": 0, "late": 0})
    for row in session.execute(
        select(ar.class_id.label("class_id"), ar.status.label("status"), func.count().label("marks"))
        .join(RollCall, _on_rollcall())
        .join(SchoolClass, SchoolClass.id == ar.class_id)
        .where(period.where, period.rollcalls)
        .group_by(ar.class_id, ar.status)
    ):
        counts[row.class_id]["late" if Mark(row.status) == Mark.LATE else "absent"] += row.marks
    return counts


def _on_rollcall() -> Any:
    """An attendance record of a day its class took the roll-call."""
    ar = AttendanceRecord
    return and_(RollCall.class_id == ar.class_id, RollCall.day == ar.day)


def _class_and_school_rows(
    classes: list[ClassInfo],
    pupils: dict[int, int],
    days: dict[int, int],
    marks: dict[int, dict[str, int]],
) -> tuple[list[ClassRow], dict[int, ClassRow]]:
    """Build a row per class and add it up per school: (class rows, school → total row)."""
    rows: list[ClassRow] = []
    per_school: dict[int, ClassRow] = {}
    for klass in classes:
        counts = marks.get(klass.class_id, {"absent": 0, "late": 0})
        row = ClassRow(
            klass.school_name,
            class_label_parts(klass.grade, klass.name),
            pupils.get(klass.class_id, 0),
            days.get(klass.class_id, 0),
            counts["absent"],
            counts["late"],
        )
        rows.append(row)
        total = per_school.setdefault(klass.school_id, ClassRow(klass.school_name, "", 0, 0, 0, 0))
        total.absent += row.absent
        total.late += row.late
        # Schools aggregate pupil-days, stored as pupils=expected, days=1 so `rate` stays correct.
        total.pupils += row.pupils * row.days
        total.days = 1
    return rows, per_school


def _daily_rates(
    session: Session,
    period: _Period,
    classes: list[ClassInfo],
    pupils: dict[int, int],
    school_names: dict[int, str],
) -> dict[str, list[tuple[date, float]]]:
    """Rate per school and day: absences over the pupil-days of the classes with a roll-call that day."""
    class_size = {klass.class_id: pupils.get(klass.class_id, 0) for klass in classes}
    expected = _expected_per_school_day(session, period, class_size)
    absent = _absent_per_school_day(session, period)
    daily: dict[str, list[tuple[date, float]]] = {}
    for key in sorted(expected, key=lambda k: (k.day, k.school_id)):
        if expected[key]:
            rate = 1 - absent.get(key, 0) / expected[key]
            daily.setdefault(school_names.get(key.school_id, str(key.school_id)), []).append((key.day, rate))
    return daily


def _expected_per_school_day(
    session: Session, period: _Period, class_size: dict[int, int]
) -> dict[_SchoolDay, int]:
    """Add up the pupils of the classes with a roll-call, per school and day."""
    expected: dict[_SchoolDay, int] = defaultdict(int)
    for row in session.execute(
        select(RollCall.class_id, RollCall.school_id, RollCall.day)
        .join(SchoolClass, SchoolClass.id == RollCall.class_id)
        .where(period.where, period.rollcalls)
    ):
        expected[_SchoolDay(row.school_id, row.day)] += class_size.get(row.class_id, 0)
    return expected


def _absent_per_school_day(session: Session, period: _Period) -> dict[_SchoolDay, int]:
    """Count the absences (any kind) on roll-call days, per school and day."""
    ar = AttendanceRecord
    return {
        _SchoolDay(row.school_id, row.day): row.absences
        for row in session.execute(
            select(ar.school_id, ar.day, func.count().label("absences"))
            .join(RollCall, _on_rollcall())
            .join(SchoolClass, SchoolClass.id == ar.class_id)
            .where(period.where, period.rollcalls, ar.status.in_(ABSENCE_MARKS))
            .group_by(ar.school_id, ar.day)
        )
    }


def _absences(session: Session, period: _Period) -> list[AbsenceRow]:
    """Read the period's absences in day, school, class and roll-number order, up to the row limit."""
    ar = AttendanceRecord
    return [
        AbsenceRow(**row._mapping)
        for row in session.execute(
            select(
                ar.day.label("day"),
                School.name.label("school"),
                SchoolClass.grade.label("grade"),
                SchoolClass.name.label("class_name"),
                Student.student_no.label("student_no"),
                Student.name.label("pupil"),
                ar.status.label("status"),
                ar.guardian_answer.label("answer"),
            )
            .join(Student, Student.id == ar.student_id)
            .join(SchoolClass, SchoolClass.id == ar.class_id)
            .join(School, School.id == ar.school_id)
            .where(period.where, ar.day >= period.first, ar.day <= period.last, ar.status.in_(ABSENCE_MARKS))
            .order_by(ar.day, School.id, SchoolClass.grade, SchoolClass.name, Student.student_no)
            .limit(MAX_ABSENCE_ROWS)
        )
    ]


def _cases(session: Session, period: _Period) -> list[CaseEntry]:
    """Read the cases open in the period (open now, or closed since its first day), oldest first."""
    return [
        CaseEntry(row.DropoutCase, row.school, class_label_parts(row.grade, row.class_name), row.pupil)
        for row in session.execute(
            select(
                DropoutCase,
                School.name.label("school"),
                SchoolClass.grade.label("grade"),
                SchoolClass.name.label("class_name"),
                Student.name.label("pupil"),
            )
            .join(Student, Student.id == DropoutCase.student_id)
            .join(SchoolClass, SchoolClass.id == DropoutCase.class_id)
            .join(School, School.id == DropoutCase.school_id)
            .where(period.where, DropoutCase.opened_on <= period.last)
            .where(
                (DropoutCase.status == CaseStatus.OPEN)
                | (DropoutCase.closed_at >= datetime.combine(period.first, time.min, tzinfo=UTC))
            )
            .order_by(DropoutCase.opened_on, DropoutCase.id)
        )
    ]


def _open_cases_by_school(cases: list[CaseEntry]) -> dict[str, int]:
    """Count the open cases per school name."""
    counts: dict[str, int] = {}
    for entry in cases:
        if entry.case.status == CaseStatus.OPEN:
            counts[entry.school] = counts.get(entry.school, 0) + 1
    return counts


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def summary_text(report: AttendanceReport) -> str:
    """The chat summary: the rate with the classes it covers, per class rates, the classes without a roll-call."""
    lines = [
        _("Attendance {title}, {first} – {last}").format(
            title=report.title, first=report.first.isoformat(), last=report.last.isoformat()
        ),
        _rate_line(report),
    ]
    if len(report.schools) > 1:
        lines.append(_("Schools: {count}").format(count=len(report.schools)))
    else:
        for row in report.classes[:40]:
            rate = _("no roll-call") if row.days == 0 else percent(row.rate)
            lines.append(f"• {row.klass}: {rate}")
    lines.extend(missing_lines(report))
    open_cases = sum(
        1 for entry in map(CaseEntry._make, report.cases) if entry.case.status == CaseStatus.OPEN
    )
    lines.append(
        _("Dropout-risk cases: {open} open, {closed} closed in the period.").format(
            open=open_cases, closed=len(report.cases) - open_cases
        )
    )
    lines.append(_("Absences in the period: {count}").format(count=len(report.absences)))
    return "\n".join(lines)


def _rate_line(report: AttendanceReport) -> str:
    """The overall rate with the classes it is drawn from; no rate at all when no class reported."""
    rate = report.overall_rate()
    if rate is None and not report.coverage.reporting:
        return _(
            "No class took a roll-call in this period ({coverage}), so there is no attendance rate."
        ).format(coverage=coverage_text(report.coverage))
    return _("Overall attendance rate: {rate} ({coverage})").format(
        rate=percent(rate), coverage=coverage_text(report.coverage)
    )


__all__ = [
    "MAX_ABSENCE_ROWS",
    "AbsenceRow",
    "AttendanceReport",
    "CaseEntry",
    "ClassRow",
    "Scope",
    "build_report",
    "chart_png",
    "cjk_font_name",
    "percent",
    "scope_title",
    "summary_text",
    "write_xlsx",
]
