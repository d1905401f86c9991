"""Which classes of a report took their roll-calls: class-days expected against class-days reported.

A class is expected to take the roll-call on each school day of its school (the calendar domain's
answer) in the period. Classes without one are left out of the rates by construction (a rate counts
only roll-call days); this module counts them so that every figure can say how many classes it covers,
and lists them by name with the days they missed.
"""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

from babel.dates import format_date
from sqlalchemy import select
from sqlalchemy.orm import Session

from chatbot.attendance.report_model import AttendanceReport, Coverage, MissingClass
from chatbot.attendance.texts import class_label_parts
from chatbot.calendar.service import load_calendars
from chatbot.i18n import _, babel_locale, format_day, format_items, get_locale
from db.models import School, SchoolClass
from db.models.attendance import RollCall


class ClassInfo(NamedTuple):
    class_id: int
    school_id: int
    school_name: str
    grade: int
    name: str


def _school_days(session: Session, where: Any, first: date, last: date) -> dict[int, list[date]]:
    """The school days of the period of each school of the scope: school → days."""
    schools = session.scalars(
        select(School).where(School.id.in_(select(SchoolClass.school_id).where(where))).order_by(School.id)
    ).all()
    calendars = load_calendars(session, schools)
    return {school_id: calendar.school_days(first, last) for school_id, calendar in calendars.items()}


def _taken(session: Session, where: Any, first: date, last: date) -> set[tuple[int, date]]:
    """The (class, day) pairs of the period with a roll-call."""
    return {
        (row.class_id, row.day)
        for row in session.execute(
            select(RollCall.class_id, RollCall.day)
            .join(SchoolClass, SchoolClass.id == RollCall.class_id)
            .where(where, RollCall.day >= first, RollCall.day <= last)
        )
    }


def fill_coverage(session: Session, report: AttendanceReport, classes: list[ClassInfo], where: Any) -> None:
    """Count the report's class-days expected and reported, per scope, school and day; list the missing classes."""
    days_of = _school_days(session, where, report.first, report.last)
    taken = _taken(session, where, report.first, report.last)
    for klass in classes:
        school_days = days_of.get(klass.school_id, [])
        if not school_days:
            continue
        missed = tuple(day for day in school_days if (klass.class_id, day) not in taken)
        report.coverage.add(len(school_days), len(missed))
        report.school_coverage.setdefault(klass.school_name, Coverage()).add(len(school_days), len(missed))
        per_day = report.daily_coverage.setdefault(klass.school_name, {})
        for day in school_days:
            per_day.setdefault(day, Coverage()).add(1, int(day in missed))
        if missed:
            label = class_label_parts(klass.grade, klass.name)
            report.missing.append(MissingClass(klass.school_name, label, len(school_days), missed))


# Up to this many days in the period, a missing class's days are listed; beyond, they are counted.
SHORT_PERIOD = 7
MAX_LISTED = 40


def coverage_text(coverage: Coverage) -> str:
    """'2/8 classes took a roll-call' (and '30/40 class-days without a roll-call' over several days)."""
    if not coverage.classes:
        return _("no school day in this period")
    text = _("{reporting}/{classes} classes took a roll-call").format(
        reporting=coverage.reporting, classes=coverage.classes
    )
    if coverage.expected > coverage.classes:
        text += _(", {missing}/{expected} class-days without a roll-call").format(
            missing=coverage.missing_days, expected=coverage.expected
        )
    return text


def short_day(day: date) -> str:
    """'12月1日' or 'Dec 1': a day of the period without its year or weekday."""
    return format_date(day, "MMM d" if get_locale() == "en" else "M月d日", locale=babel_locale())


def missed_text(report: AttendanceReport, missing: MissingClass) -> str:
    """The days a class missed when the period is short, else how many of its school days."""
    if (report.last - report.first).days < SHORT_PERIOD:
        return format_items([format_day(day) for day in missing.days])
    return _("{missed}/{days} school days").format(missed=len(missing.days), days=missing.school_days)


def missing_lines(report: AttendanceReport) -> list[str]:
    """The classes without a roll-call on some school day, by name, up to MAX_LISTED of them."""
    if not report.missing:
        return []
    lines = [_("Classes without a roll-call ({count}):").format(count=len(report.missing))]
    for missing in report.missing[:MAX_LISTED]:
        lines.append(f"• {missing.school} {missing.klass}: {missed_text(report, missing)}")
    if len(report.missing) > MAX_LISTED:
        lines.append(
            _("…and {count} more classes (see the workbook)").format(count=len(report.missing) - MAX_LISTED)
        )
    return lines


__all__ = [
    "MAX_LISTED",
    "SHORT_PERIOD",
    "ClassInfo",
    "coverage_text",
    "fill_coverage",
    "missed_text",
    "missing_lines",
    "short_day",
]
