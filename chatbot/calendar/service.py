"""`is_school_day(session, school, day)` is the one answer every part of the bot uses.

A day is a school day when, in this order (the first rule that applies wins):
1. the school, then the region, lists it as an extra school day → yes; as a day off → no;
2. it lies in a vacation → no;
3. the region has no calendar at all → official working days (a warning is logged once);
4. it lies outside every term → no;
5. otherwise it is a school day exactly when it is an official working day, so public holidays are
   off and make-up Saturdays (调休) are school days. Official days come from the imported State Council
   arrangement for the year, else the holiday libraries (see official.py).

A school-level term or vacation replaces the region's one with the same kind and name in the same
school year (autumn 2026, winter 2026/27 and spring 2027 are all school year 2026).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from chatbot.calendar.official import LIBRARIES, OfficialCalendar, load_official
from db.models import School
from db.models.calendar import CalendarEntry, CalendarKind

log = logging.getLogger(__name__)

__all__ = [
    "Period",
    "SchoolCalendar",
    "is_school_day",
    "load_calendar",
    "load_calendars",
    "school_days",
    "school_year_of",
]

_warned_regions: set[int] = set()


def school_year_of(day: date) -> int:
    """The school year a day belongs to, named by its autumn: 2027-03-01 → 2026."""
    return day.year if day.month >= 8 else day.year - 1


@dataclass(frozen=True)
class Period:
    kind: CalendarKind
    name: str
    first: date
    last: date
    note: str | None = None
    school_level: bool = False

    def covers(self, day: date) -> bool:
        return self.first <= day <= self.last


@dataclass
class SchoolCalendar:
    """A school's effective calendar (region entries with its overrides applied), held in memory."""

    school_id: int
    region_id: int
    terms: list[Period] = field(default_factory=list)
    vacations: list[Period] = field(default_factory=list)
    school_days_off: list[Period] = field(default_factory=list)
    school_extra_days: list[Period] = field(default_factory=list)
    region_days_off: list[Period] = field(default_factory=list)
    region_extra_days: list[Period] = field(default_factory=list)
    official: OfficialCalendar = LIBRARIES

    @property
    def empty(self) -> bool:
        return not (self.terms or self.vacations)

    def is_school_day(self, day: date) -> bool:
        """See the module docstring for the order of the rules."""
        for extra, off in (
            (self.school_extra_days, self.school_days_off),
            (self.region_extra_days, self.region_days_off),
        ):
            if any(p.covers(day) for p in extra):
                return True
            if any(p.covers(day) for p in off):
                return False
        if any(p.covers(day) for p in self.vacations):
            return False
        if self.empty:
            if self.region_id not in _warned_regions:
                _warned_regions.add(self.region_id)
                log.warning("region %s has no school calendar: using official working days", self.region_id)
            return self.official.is_workday(day)
        if not any(p.covers(day) for p in self.terms):
            return False
        return self.official.is_workday(day)

    def school_days(self, start: date, end: date) -> list[date]:
        """Every school day from start to end inclusive."""
        days = []
        day = start
        while day <= end:
            if self.is_school_day(day):
                days.append(day)
            day += timedelta(days=1)
        return days

    def term_on(self, day: date) -> Period | None:
        return next((p for p in self.terms if p.covers(day)), None)

    def next_term_after(self, day: date) -> Period | None:
        return min((p for p in self.terms if p.first > day), key=lambda p: p.first, default=None)

    def first_school_day_after(self, day: date, horizon: int = 120) -> date | None:
        """The first school day strictly after `day` (the 'return date' after a break)."""
        for offset in range(1, horizon + 1):
            candidate = day + timedelta(days=offset)
            if self.is_school_day(candidate) and self.term_on(candidate) is not None:
                return candidate
        return None

    def nth_school_day(self, first: date, n: int, horizon: int = 60) -> date | None:
        """The n-th school day counting `first` as day 0 (n=3: three school days after the start)."""
        seen = -1
        for offset in range(horizon):
            day = first + timedelta(days=offset)
            if self.is_school_day(day):
                seen += 1
                if seen == n:
                    return day
        return None


def _period(entry: CalendarEntry) -> Period:
    return Period(
        kind=entry.kind,
        name=entry.name,
        first=entry.first_day,
        last=entry.last_day,
        note=entry.note,
        school_level=entry.school_id is not None,
    )


def _build(
    school_id: int, region_id: int, entries: Iterable[CalendarEntry], official: OfficialCalendar
) -> SchoolCalendar:
    calendar = SchoolCalendar(school_id=school_id, region_id=region_id, official=official)
    region_level: list[Period] = []
    school_level: list[Period] = []
    for entry in entries:
        (school_level if entry.school_id is not None else region_level).append(_period(entry))
    overridden = {
        (p.kind, p.name, school_year_of(p.first))
        for p in school_level
        if p.kind in (CalendarKind.TERM, CalendarKind.VACATION)
    }
    for period in region_level + school_level:
        if not period.school_level and (period.kind, period.name, school_year_of(period.first)) in overridden:
            continue
        if period.kind == CalendarKind.TERM:
            calendar.terms.append(period)
        elif period.kind == CalendarKind.VACATION:
            calendar.vacations.append(period)
        elif period.kind == CalendarKind.DAY_OFF:
            (calendar.school_days_off if period.school_level else calendar.region_days_off).append(period)
        else:
            (calendar.school_extra_days if period.school_level else calendar.region_extra_days).append(period)
    calendar.terms.sort(key=lambda p: p.first)
    calendar.vacations.sort(key=lambda p: p.first)
    return calendar


def load_calendars(session: Session, schools: Iterable[School]) -> dict[int, SchoolCalendar]:
    """Effective calendars of many schools with one query (batch jobs use this)."""
    school_list = list(schools)
    if not school_list:
        return {}
    region_ids = {s.region_id for s in school_list}
    school_ids = {s.id for s in school_list}
    entries = list(
        session.scalars(
            select(CalendarEntry)
            .where(
                CalendarEntry.region_id.in_(region_ids),
                or_(CalendarEntry.school_id.is_(None), CalendarEntry.school_id.in_(school_ids)),
            )
            .order_by(CalendarEntry.first_day, CalendarEntry.id)
        )
    )
    official = load_official(session)
    return {
        s.id: _build(
            s.id,
            s.region_id,
            (e for e in entries if e.region_id == s.region_id and e.school_id in (None, s.id)),
            official,
        )
        for s in school_list
    }


def load_calendar(session: Session, school: School) -> SchoolCalendar:
    return load_calendars(session, [school])[school.id]


def is_school_day(session: Session, school: School, day: date) -> bool:
    """A school day: in a term, not in a break, and an official working day (make-up Saturdays count)."""
    return load_calendar(session, school).is_school_day(day)


def school_days(session: Session, school: School, start: date, end: date) -> list[date]:
    """Every school day of `school` from start to end inclusive, with one query."""
    return load_calendar(session, school).school_days(start, end)
