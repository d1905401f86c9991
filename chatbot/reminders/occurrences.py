"""When reminders fall due: each rule's occurrences (term starts, vacations, 除夕, the never-returned
check) for a school, from its calendar and its region's rules.

Every reminder has a key `rule|s<school>|<anchor>/<offset>|p<person>` in the ReminderSent ledger; a
marker key ending in `|*` records that an occurrence was handled, so later runs skip it cheaply.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chatbot.calendar.official import spring_festival_eve
from chatbot.calendar.reminder_rules import (
    NEVER_RETURNED,
    SPRING_FESTIVAL,
    TERM_START,
    VACATION,
    RuleConfig,
)
from chatbot.calendar.service import SchoolCalendar
from db.models import School


@dataclass(frozen=True)
class Occurrence:
    rule: str
    kind: str  # term name, vacation name (winter/summer), or spring_festival
    school_id: int
    anchor: date  # term start, vacation start or 除夕
    offset: int  # days before the anchor, or school days after it (never_returned)
    due_at: datetime
    due_day: date

    @property
    def ident(self) -> str:
        return f"{self.anchor.isoformat()}/{self.offset}"

    def key(self, recipient: str) -> str:
        return f"{self.rule}|s{self.school_id}|{self.ident}|{recipient}"

    @property
    def marker(self) -> str:
        return self.key("*")


# (kind, anchor, offset, due day) of one rule's occurrences whose due day may lie in [first, last].
Dates = Iterator[tuple[str, date, int, date]]
Finder = Callable[[SchoolCalendar, RuleConfig, date, date], Dates]


def _term_starts(calendar: SchoolCalendar, rule: RuleConfig, first: date, last: date) -> Dates:
    """Days before each term's first day."""
    for term in calendar.terms:
        for days in rule.days_before:
            yield term.name, term.first, days, term.first - timedelta(days=days)


def _vacations(calendar: SchoolCalendar, rule: RuleConfig, first: date, last: date) -> Dates:
    """Days before each vacation's first day."""
    for vacation in calendar.vacations:
        for days in rule.days_before:
            yield vacation.name, vacation.first, days, vacation.first - timedelta(days=days)


def _spring_festivals(calendar: SchoolCalendar, rule: RuleConfig, first: date, last: date) -> Dates:
    """Days before 除夕 of each year around the span."""
    for year in range(first.year, last.year + 2):
        eve = spring_festival_eve(year)
        for days in rule.days_before:
            yield SPRING_FESTIVAL, eve, days, eve - timedelta(days=days)


def _never_returned_checks(calendar: SchoolCalendar, rule: RuleConfig, first: date, last: date) -> Dates:
    """The n-th school day of each term near the span."""
    n = rule.school_days_after
    for term in calendar.terms:
        if term.last < first - timedelta(days=60) or term.first > last:
            continue
        check_day = calendar.nth_school_day(term.first, n)
        if check_day is not None:
            yield term.name, term.first, n, check_day


FINDERS: dict[str, Finder] = {
    TERM_START: _term_starts,
    VACATION: _vacations,
    SPRING_FESTIVAL: _spring_festivals,
    NEVER_RETURNED: _never_returned_checks,
}


def occurrences_between(
    school: School, calendar: SchoolCalendar, rules: dict[str, RuleConfig], first: date, last: date
) -> list[Occurrence]:
    """Every reminder occurrence of `school` whose local due day lies in [first, last]."""
    found = [
        Occurrence(
            rule, kind, school.id, anchor, offset, _local_moment(due_day, rules[rule].at, school.tz), due_day
        )
        for rule, find in FINDERS.items()
        if rules[rule].enabled
        for kind, anchor, offset, due_day in find(calendar, rules[rule], first, last)
        if first <= due_day <= last
    ]
    found.sort(key=lambda o: (o.due_at, o.rule))
    return found


def _local_moment(day: date, at: time, tz: str) -> datetime:
    return datetime.combine(day, at, tzinfo=ZoneInfo(tz))
