"""Attendance reports for principals and admins: rates per class and school, absences, cases.

Rates only, never rankings: classes are listed in school/grade order. Aggregation is done in SQL
(group by class/school/day), so a region-wide report reads a few thousand summary rows.
"""

from __future__ import annotations

import io
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from chatbot.attendance.rules import ABSENCE_MARKS
from chatbot.attendance.texts import (
    ANSWER_LABELS,
    EVENT_LABELS,
    LEVEL_LABELS,
    MARK_LABELS,
    REASON_LABELS,
    class_label_parts,
    trigger_text,
)
from chatbot.i18n import _
from db.models import Region, School, SchoolClass, Student
from db.models.attendance import AttendanceRecord, CaseStatus, DropoutCase, Mark, RollCall

log = logging.getLogger(__name__)
MAX_ABSENCE_ROWS = 50_000


@dataclass(frozen=True)
class Scope:
    kind: str  # class | school | region
    id: int

    @staticmethod
    def parse(text: str) -> Scope:
        kind, _sep, ident = text.partition(":")
        if kind not in {"class", "school", "region"} or not ident.isdecimal():
            raise ValueError(text)
        return Scope(kind, int(ident))


@dataclass
class ClassRow:
    school: str
    klass: str
    pupils: int
    days: int
    absent: int
    late: int

    @property
    def rate(self) -> float | None:
        expected = self.pupils * self.days
        return None if expected == 0 else 1 - self.absent / expected


@dataclass
class AttendanceReport:
    scope: Scope
    title: str
    first: date
    last: date
    classes: list[ClassRow] = field(default_factory=list)
    schools: list[ClassRow] = field(default_factory=list)
    # school name → [(day, rate)]
    daily: dict[str, list[tuple[date, float]]] = field(default_factory=dict)
    open_cases_by_school: dict[str, int] = field(default_factory=dict)
    absences: list[tuple[Any, ...]] = field(default_factory=list)
    cases: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def overall(self) -> ClassRow:
        return ClassRow(
            self.title,
            "",
            sum(r.pupils for r in self.classes),
            0,
            sum(r.absent for r in self.classes),
            sum(r.late for r in self.classes),
        )

    def overall_rate(self) -> float | None:
        expected = sum(r.pupils * r.days for r in self.classes)
        return None if expected == 0 else 1 - sum(r.absent for r in self.classes) / expected


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


def build_report(session: Session, scope: Scope, first: date, last: date) -> AttendanceReport:
    """Everything the chat summary, the chart and the workbook show, for one scope and period."""
    title = scope_title(session, scope)
    if title is None:
        raise LookupError(scope)
    report = AttendanceReport(scope=scope, title=title, first=first, last=last)
    where = _class_filter(scope)
    classes = session.execute(
        select(SchoolClass.id, School.id, School.name, SchoolClass.grade, SchoolClass.name)
        .join(School, School.id == SchoolClass.school_id)
        .where(where)
        .order_by(School.id, SchoolClass.grade, SchoolClass.name)
    ).all()
    pupils = dict(
        session.execute(
            select(Student.class_id, func.count())
            .join(SchoolClass, SchoolClass.id == Student.class_id)
            .where(where, Student.active.is_(True))
            .group_by(Student.class_id)
        ).all()
    )
    in_period = and_(RollCall.day >= first, RollCall.day <= last)
    days = dict(
        session.execute(
            select(RollCall.class_id, func.count())
            .join(SchoolClass, SchoolClass.id == RollCall.class_id)
            .where(where, in_period)
            .group_by(RollCall.class_id)
        ).all()
    )
    ar = AttendanceRecord
    on_rollcall = and_(RollCall.class_id == ar.class_id, RollCall.day == ar.day)
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {"absent": 0, "late": 0})
    for class_id, status, count in session.execute(
        select(ar.class_id, ar.status, func.count())
        .join(RollCall, on_rollcall)
        .join(SchoolClass, SchoolClass.id == ar.class_id)
        .where(where, in_period)
        .group_by(ar.class_id, ar.status)
    ):
        counts[class_id]["late" if Mark(status) == Mark.LATE else "absent"] += count
    per_school: dict[int, ClassRow] = {}
    for class_id, school_id, school_name, grade, name in classes:
        row = ClassRow(
            school_name,
            class_label_parts(grade, name),
            pupils.get(class_id, 0),
            days.get(class_id, 0),
            counts[class_id]["absent"],
            counts[class_id]["late"],
        )
        report.classes.append(row)
        total = per_school.setdefault(school_id, ClassRow(school_name, "", 0, 0, 0, 0))
        total.absent += row.absent
        total.late += row.late
        # Schools aggregate pupil-days, stored as pupils=expected, days=1 so `rate` stays correct.
        total.pupils += row.pupils * row.days
        total.days = 1
    report.schools = list(per_school.values())
    school_names = {sid: row.school for sid, row in per_school.items()}
    # Daily rate per school: expected pupil-days of classes with a roll-call that day.
    expected_daily: dict[tuple[int, date], int] = defaultdict(int)
    class_size = {c[0]: pupils.get(c[0], 0) for c in classes}
    for class_id, school_id, day in session.execute(
        select(RollCall.class_id, RollCall.school_id, RollCall.day)
        .join(SchoolClass, SchoolClass.id == RollCall.class_id)
        .where(where, in_period)
    ):
        expected_daily[(school_id, day)] += class_size.get(class_id, 0)
    absent_daily = dict(
        ((school_id, day), count)
        for school_id, day, count in session.execute(
            select(ar.school_id, ar.day, func.count())
            .join(RollCall, on_rollcall)
            .join(SchoolClass, SchoolClass.id == ar.class_id)
            .where(where, in_period, ar.status.in_(ABSENCE_MARKS))
            .group_by(ar.school_id, ar.day)
        )
    )
    for (school_id, day), expected in sorted(expected_daily.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if expected:
            rate = 1 - absent_daily.get((school_id, day), 0) / expected
            report.daily.setdefault(school_names.get(school_id, str(school_id)), []).append((day, rate))
    report.absences = [
        tuple(row)
        for row in session.execute(
            select(
                ar.day,
                School.name,
                SchoolClass.grade,
                SchoolClass.name,
                Student.student_no,
                Student.name,
                ar.status,
                ar.guardian_answer,
            )
            .join(Student, Student.id == ar.student_id)
            .join(SchoolClass, SchoolClass.id == ar.class_id)
            .join(School, School.id == ar.school_id)
            .where(where, ar.day >= first, ar.day <= last, ar.status.in_(ABSENCE_MARKS))
            .order_by(ar.day, School.id, SchoolClass.grade, SchoolClass.name, Student.student_no)
            .limit(MAX_ABSENCE_ROWS)
        )
    ]
    case_rows = session.execute(
        select(DropoutCase, School.name, SchoolClass.grade, SchoolClass.name, Student.name)
        .join(Student, Student.id == DropoutCase.student_id)
        .join(SchoolClass, SchoolClass.id == DropoutCase.class_id)
        .join(School, School.id == DropoutCase.school_id)
        .where(where, DropoutCase.opened_on <= last)
        .where(
            (DropoutCase.status == CaseStatus.OPEN)
            | (DropoutCase.closed_at >= datetime.combine(first, time.min, tzinfo=UTC))
        )
        .order_by(DropoutCase.opened_on, DropoutCase.id)
    ).all()
    for case, school_name, grade, class_name, pupil in case_rows:
        report.cases.append((case, school_name, class_label_parts(grade, class_name), pupil))
        if case.status == CaseStatus.OPEN:
            report.open_cases_by_school[school_name] = report.open_cases_by_school.get(school_name, 0) + 1
    return report


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def summary_text(report: AttendanceReport) -> str:
    lines = [
        _("Attendance {title}, {first} – {last}").format(
            title=report.title, first=report.first.isoformat(), last=report.last.isoformat()
        ),
        _("Overall attendance rate: {rate}").format(rate=percent(report.overall_rate())),
    ]
    if len(report.schools) > 1:
        lines.append(_("Schools: {count}").format(count=len(report.schools)))
    else:
        for row in report.classes[:40]:
            lines.append(f"• {row.klass}: {percent(row.rate)}")
    open_cases = sum(1 for c in report.cases if c[0].status == CaseStatus.OPEN)
    lines.append(
        _("Dropout-risk cases: {open} open, {closed} closed in the period.").format(
            open=open_cases, closed=len(report.cases) - open_cases
        )
    )
    lines.append(_("Absences in the period: {count}").format(count=len(report.absences)))
    return "\n".join(lines)


def write_xlsx(report: AttendanceReport) -> bytes:
    """A workbook with one sheet per table, headers in the reader's language."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Classes")[:31]
    bold = Font(bold=True)

    def header(ws: Any, names: list[str]) -> None:
        ws.append(names)
        for cell in ws[1]:
            cell.font = bold
        ws.freeze_panes = "A2"

    header(
        sheet,
        [
            _("School"),
            _("Class"),
            _("Pupils"),
            _("Roll-call days"),
            _("Absences"),
            _("Late"),
            _("Attendance rate"),
        ],
    )
    for row in report.classes:
        sheet.append(
            [
                row.school,
                row.klass,
                row.pupils,
                row.days,
                row.absent,
                row.late,
                None if row.rate is None else round(row.rate, 4),
            ]
        )
    for cell in sheet["G"][1:]:
        cell.number_format = "0.0%"
    schools = book.create_sheet(_("Schools")[:31])
    header(schools, [_("School"), _("Expected pupil-days"), _("Absences"), _("Late"), _("Attendance rate")])
    for row in report.schools:
        schools.append(
            [row.school, row.pupils, row.absent, row.late, None if row.rate is None else round(row.rate, 4)]
        )
    for cell in schools["E"][1:]:
        cell.number_format = "0.0%"
    absences = book.create_sheet(_("Absences")[:31])
    header(
        absences,
        [
            _("Day"),
            _("School"),
            _("Class"),
            _("Student number"),
            _("Pupil"),
            _("Status"),
            _("Guardian's answer"),
        ],
    )
    for day, school, grade, klass, number, pupil, status, answer in report.absences:
        absences.append(
            [
                day,
                school,
                class_label_parts(grade, klass),
                number,
                pupil,
                _(MARK_LABELS[Mark(status)]),
                _(ANSWER_LABELS[answer]) if answer else "",
            ]
        )
    for cell in absences["A"][1:]:
        cell.number_format = "yyyy-mm-dd"
    cases = book.create_sheet(_("Cases")[:31])
    header(
        cases,
        [
            _("Case"),
            _("School"),
            _("Class"),
            _("Pupil"),
            _("Trigger"),
            _("Opened"),
            _("Status"),
            _("Level"),
            _("Closed"),
            _("Outcome"),
            _("Reason"),
        ],
    )
    for case, school, klass, pupil in report.cases:
        cases.append(
            [
                case.id,
                school,
                klass,
                pupil,
                trigger_text(case.trigger, case.detail),
                case.opened_on,
                _("open") if case.status == CaseStatus.OPEN else _("closed"),
                _(LEVEL_LABELS[case.level]),
                case.closed_at.date() if case.closed_at else None,
                _(EVENT_LABELS[case.outcome]) if case.outcome else "",
                _(REASON_LABELS[case.not_dropout_reason]) if case.not_dropout_reason else "",
            ]
        )
    for ws in book.worksheets:
        for column in ws.columns:
            letter = column[0].column_letter
            ws.column_dimensions[letter].width = min(
                40, max(10, *(len(str(c.value or "")) * 2 for c in column[:200]))
            )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- chart -------------------------------------------------------------------------------------

MAX_LINES = 8


@cache
def cjk_font_name() -> str:
    """Register the Noto Sans CJK font shipped by mplfonts with matplotlib; returns its family name."""
    import mplfonts
    from matplotlib import font_manager

    path = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def chart_png(report: AttendanceReport) -> bytes:
    """Daily attendance rate per school (lines) and open cases per school (bars), as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    family = cjk_font_name()
    figure = Figure(figsize=(9, 6.5), dpi=100, layout="constrained")
    rates, bars = figure.subplots(2, 1, height_ratios=(3, 2))
    daily = report.daily
    if len(daily) > MAX_LINES:
        # Too many schools for readable lines: draw the scope's mean, never a ranking of schools.
        merged: dict[date, list[float]] = defaultdict(list)
        for points in daily.values():
            for day, rate in points:
                merged[day].append(rate)
        daily = {
            _("Mean of {count} schools").format(count=len(report.daily)): [
                (day, sum(v) / len(v)) for day, v in sorted(merged.items())
            ]
        }
    for school, points in daily.items():
        rates.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=school)
    rates.set_title(_("Daily attendance rate — {title}").format(title=report.title), fontfamily=family)
    rates.yaxis.set_major_formatter(PercentFormatter(1.0))
    rates.set_ylim(
        bottom=max(0.0, min([p[1] for pts in daily.values() for p in pts], default=0.8) - 0.05), top=1.01
    )
    if daily:
        # The size goes inside prop: given a prop dict, matplotlib ignores fontsize=.
        rates.legend(prop={"family": family, "size": 8}, loc="lower left")
    rates.tick_params(axis="x", labelrotation=30)
    if 0 < len(report.open_cases_by_school) <= 20:
        names = sorted(report.open_cases_by_school)
        values = [report.open_cases_by_school[n] for n in names]
    else:
        names, values = [_("All schools")], [sum(report.open_cases_by_school.values())]
    bars.bar(range(len(names)), values, color="#c0504d")
    bars.set_xticks(range(len(names)), labels=names, fontfamily=family)
    bars.set_title(_("Open dropout-risk cases"), fontfamily=family)
    bars.yaxis.get_major_locator().set_params(integer=True)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
