"""The attendance report as data: a scope, its period, and the rows of each table.

`chatbot.attendance.report` builds it from the database; `report_files` draws the workbook and
the chart from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from db.models.attendance import DropoutCase, GuardianAnswer, Mark


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
class Coverage:
    """How many of the classes expected to take the roll-call did, over the school days of the period.

    `classes` counts the classes with at least one school day in the period, `reporting` those of them
    with a roll-call on at least one of those days (the classes a rate is drawn from); `expected` counts
    class-days (school days × classes) and `reported` the class-days with a roll-call.
    """

    classes: int = 0
    reporting: int = 0
    expected: int = 0
    reported: int = 0

    @property
    def missing_days(self) -> int:
        return self.expected - self.reported

    @property
    def partial(self) -> bool:
        """Some class did not take every roll-call of the period."""
        return self.reported < self.expected

    def add(self, school_days: int, missing_days: int) -> None:
        """Count one class with `school_days` school days in the period, `missing_days` of them without a roll-call."""
        self.classes += 1
        self.reporting += missing_days < school_days
        self.expected += school_days
        self.reported += school_days - missing_days


@dataclass(frozen=True)
class MissingClass:
    """A class that did not take the roll-call on some school days of the period."""

    school: str
    klass: str
    school_days: int
    days: tuple[date, ...]


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
    # `build_report` fills these with AbsenceRow and CaseEntry rows; plain tuples of their shape do too.
    absences: list[tuple[Any, ...]] = field(default_factory=list)
    cases: list[tuple[Any, ...]] = field(default_factory=list)
    # Which classes took their roll-calls: the whole scope, per school name, per school name and day.
    coverage: Coverage = field(default_factory=Coverage)
    school_coverage: dict[str, Coverage] = field(default_factory=dict)
    daily_coverage: dict[str, dict[date, Coverage]] = field(default_factory=dict)
    missing: list[MissingClass] = field(default_factory=list)

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


class AbsenceRow(NamedTuple):
    """One absence of the period, as the workbook lists it."""

    day: date
    school: str
    grade: int
    class_name: str
    student_no: str
    pupil: str
    status: Mark
    answer: GuardianAnswer | None


class CaseEntry(NamedTuple):
    """One case of the period with its school, class label and pupil."""

    case: DropoutCase
    school: str
    klass: str
    pupil: str


__all__ = ["AbsenceRow", "AttendanceReport", "CaseEntry", "ClassRow", "Coverage", "MissingClass", "Scope"]
