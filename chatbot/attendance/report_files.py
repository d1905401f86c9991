"""The report's attachments: the workbook (one sheet per table) and the chart."""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from chatbot.attendance.report_coverage import coverage_text, missed_text, short_day
from chatbot.attendance.report_model import AbsenceRow, AttendanceReport, CaseEntry, ClassRow, Coverage
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
from db.models.attendance import CaseStatus, Mark

# --- workbook ----------------------------------------------------------------------------------


def write_xlsx(report: AttendanceReport) -> bytes:
    """A workbook with one sheet per table, headers in the reader's language."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Classes")[:31]
    _classes_sheet(sheet, report.classes)
    _schools_sheet(book.create_sheet(_("Schools")[:31]), report.schools)
    _missing_sheet(book.create_sheet(_("No roll-call")[:31]), report)
    _absences_sheet(book.create_sheet(_("Absences")[:31]), report.absences)
    _cases_sheet(book.create_sheet(_("Cases")[:31]), report.cases)
    _fit_columns(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _header(ws: Any, names: list[str]) -> None:
    """Write the bold header row and keep it in view."""
    from openpyxl.styles import Font

    ws.append(names)
    bold = Font(bold=True)
    for cell in ws[1]:
        cell.font = bold
    ws.freeze_panes = "A2"


def _rounded(rate: float | None) -> float | None:
    return None if rate is None else round(rate, 4)


def _classes_sheet(ws: Any, classes: list[ClassRow]) -> None:
    """One row per class: pupils, roll-call days, absences, late arrivals and the rate."""
    _header(
        ws,
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
    for row in classes:
        ws.append([row.school, row.klass, row.pupils, row.days, row.absent, row.late, _rounded(row.rate)])
    for cell in ws["G"][1:]:
        cell.number_format = "0.0%"


def _schools_sheet(ws: Any, schools: list[ClassRow]) -> None:
    """One row per school: expected pupil-days, absences, late arrivals and the rate."""
    _header(ws, [_("School"), _("Expected pupil-days"), _("Absences"), _("Late"), _("Attendance rate")])
    for row in schools:
        ws.append([row.school, row.pupils, row.absent, row.late, _rounded(row.rate)])
    for cell in ws["E"][1:]:
        cell.number_format = "0.0%"


def _missing_sheet(ws: Any, report: AttendanceReport) -> None:
    """One row per class without a roll-call on some school day, then the coverage of the period."""
    _header(ws, [_("School"), _("Class"), _("School days"), _("Days without a roll-call"), _("Missing")])
    for missing in report.missing:
        ws.append(
            [
                missing.school,
                missing.klass,
                missing.school_days,
                len(missing.days),
                missed_text(report, missing),
            ]
        )
    ws.append([])
    ws.append([_("Coverage"), coverage_text(report.coverage)])


def _absences_sheet(ws: Any, absences: list[tuple[Any, ...]]) -> None:
    """One row per absence, with its mark and the guardian's answer in the reader's language."""
    _header(
        ws,
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
    for absence in map(AbsenceRow._make, absences):
        ws.append(
            [
                absence.day,
                absence.school,
                class_label_parts(absence.grade, absence.class_name),
                absence.student_no,
                absence.pupil,
                _(MARK_LABELS[Mark(absence.status)]),
                _(ANSWER_LABELS[absence.answer]) if absence.answer else "",
            ]
        )
    for cell in ws["A"][1:]:
        cell.number_format = "yyyy-mm-dd"


def _cases_sheet(ws: Any, cases: list[tuple[Any, ...]]) -> None:
    """One row per case: trigger, level, dates, outcome and reason in the reader's language."""
    _header(
        ws,
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
    for entry in map(CaseEntry._make, cases):
        case = entry.case
        ws.append(
            [
                case.id,
                entry.school,
                entry.klass,
                entry.pupil,
                trigger_text(case.trigger, case.detail),
                case.opened_on,
                _("open") if case.status == CaseStatus.OPEN else _("closed"),
                _(LEVEL_LABELS[case.level]),
                case.closed_at.date() if case.closed_at else None,
                _(EVENT_LABELS[case.outcome]) if case.outcome else "",
                _(REASON_LABELS[case.not_dropout_reason]) if case.not_dropout_reason else "",
            ]
        )


def _fit_columns(book: Any) -> None:
    """Size each column to twice its longest text in the first 200 cells, from 10 to 40."""
    for ws in book.worksheets:
        for column in ws.columns:
            letter = column[0].column_letter
            ws.column_dimensions[letter].width = min(
                40, max(10, *(len(str(c.value or "")) * 2 for c in column[:200]))
            )


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
        rates.plot(
            [p[0] for p in points], [p[1] for p in points], marker="o", label=_line_label(report, school)
        )
        _annotate_partial_days(rates, points, report.daily_coverage.get(school, {}))
    rates.set_title(chart_title(report), fontfamily=family)
    rates.yaxis.set_major_formatter(PercentFormatter(1.0))
    rates.set_ylim(
        bottom=max(0.0, min([p[1] for pts in daily.values() for p in pts], default=0.8) - 0.05), top=1.01
    )
    if daily:
        # The size goes inside prop: given a prop dict, matplotlib ignores fontsize=.
        rates.legend(prop={"family": family, "size": 8}, loc="lower left")
    else:
        rates.text(
            0.5,
            0.5,
            _("No class took a roll-call in this period."),
            transform=rates.transAxes,
            ha="center",
            va="center",
            fontfamily=family,
        )
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


def chart_title(report: AttendanceReport) -> str:
    """'Attendance rate 东山县 12月1日–12月5日 · 6/8 classes took a roll-call'."""
    coverage = report.coverage
    scope = (
        coverage_text(coverage)
        if coverage.reporting or not coverage.classes
        else _("no class took a roll-call")
    )
    return _("Attendance rate {title} {first}–{last} · {coverage}").format(
        title=report.title, first=short_day(report.first), last=short_day(report.last), coverage=scope
    )


def _line_label(report: AttendanceReport, school: str) -> str:
    """A school's name, with its classes that reported when some did not take every roll-call."""
    coverage = report.school_coverage.get(school) if school in report.daily else report.coverage
    if coverage is None or not coverage.partial:
        return school
    return _("{school} ({coverage})").format(school=school, coverage=coverage_text(coverage))


def _annotate_partial_days(axes: Any, points: list[tuple[date, float]], days: dict[date, Coverage]) -> None:
    """Write 'reporting/classes' over each point drawn from fewer classes than the school has."""
    for day, rate in points:
        coverage = days.get(day)
        if coverage is not None and coverage.partial:
            axes.annotate(
                f"{coverage.reporting}/{coverage.classes}",
                (day, rate),
                textcoords="offset points",
                xytext=(0, 6),
                ha="center",
                fontsize=7,
            )


__all__ = ["MAX_LINES", "chart_png", "chart_title", "cjk_font_name", "write_xlsx"]
