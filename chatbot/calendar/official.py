"""Official rest days and make-up working days (调休) of mainland China, for any year.

Three sources, the first that has the year wins:
1. **Imported**: the State Council's arrangement for a year, entered by an operator with
   `bot.py calendar import` (an `official:` section), kept in the `official_day` table. Confirmed.
2. **chinesecalendar**: the published arrangements of the years it covers, 调休 included. Confirmed.
3. **python-holidays** (China): the statutory holidays computed for any year, lunar festivals and the
   observed days included. When its data carries the year's make-up working days it is confirmed;
   otherwise the year is *provisional*: the holidays are right, the 调休 Saturdays are not known yet.

`OfficialCalendar` holds the imported years; the library years need no database. Nothing here reads
the clock.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import cache

import chinese_calendar
import holidays
from sqlalchemy import select
from sqlalchemy.orm import Session

from chatbot.i18n import N_
from db.models.calendar import OfficialDayEntry

log = logging.getLogger(__name__)

# Holiday keys are chinesecalendar's English names; the labels are msgids shown translated.
HOLIDAY_LABELS = {
    "New Year's Day": N_("New Year's Day"),
    "Spring Festival": N_("Spring Festival"),
    "Tomb-sweeping Day": N_("Qingming Festival"),
    "Labour Day": N_("Labour Day"),
    "Dragon Boat Festival": N_("Dragon Boat Festival"),
    "National Day": N_("National Day"),
    "Mid-autumn Festival": N_("Mid-Autumn Festival"),
    "Anti-Fascist 70th Day": N_("Victory Day"),
}
PUBLIC_HOLIDAY = N_("Public holiday")

# python-holidays' English names, and the names operators type from the State Council's notice.
_ALIASES = {
    "New Year's Day": "New Year's Day",
    "元旦": "New Year's Day",
    "Chinese New Year's Eve": "Spring Festival",
    "Chinese New Year (Spring Festival)": "Spring Festival",
    "Spring Festival": "Spring Festival",
    "春节": "Spring Festival",
    "Tomb-Sweeping Day": "Tomb-sweeping Day",
    "Tomb-sweeping Day": "Tomb-sweeping Day",
    "Qingming Festival": "Tomb-sweeping Day",
    "清明节": "Tomb-sweeping Day",
    "清明": "Tomb-sweeping Day",
    "Labor Day": "Labour Day",
    "Labour Day": "Labour Day",
    "劳动节": "Labour Day",
    "Dragon Boat Festival": "Dragon Boat Festival",
    "端午节": "Dragon Boat Festival",
    "端午": "Dragon Boat Festival",
    "Mid-Autumn Festival": "Mid-autumn Festival",
    "Mid-autumn Festival": "Mid-autumn Festival",
    "中秋节": "Mid-autumn Festival",
    "中秋": "Mid-autumn Festival",
    "National Day": "National Day",
    "国庆节": "National Day",
    "国庆": "National Day",
}
# On a day two festivals share (2028-10-03: Mid-Autumn and National Day) the longer break names it.
_PRECEDENCE = ("Spring Festival", "National Day")
_OBSERVED = re.compile(r"\s*\(observed\)$")
_SUBSTITUTED = "Day off (substituted"


def canonical_holiday(name: str) -> str | None:
    """The holiday key for a name in English or Chinese (元旦, 春节, …), or None if unknown."""
    return _ALIASES.get(name.strip())


class Source(StrEnum):
    IMPORTED = "imported"  # the operator entered the State Council's arrangement
    CHINESECALENDAR = "chinesecalendar"
    HOLIDAYS = "holidays"  # python-holidays, with the year's 调休
    PROVISIONAL = "provisional"  # python-holidays' statutory days only: 调休 not yet published


@dataclass(frozen=True)
class OfficialDay:
    day: date
    workday: bool
    holiday: str | None  # a key of HOLIDAY_LABELS
    makeup: bool  # a weekend day that is an official working day (调休)
    source: Source

    @property
    def confirmed(self) -> bool:
        return self.source != Source.PROVISIONAL


# --- the libraries ---------------------------------------------------------------------------------


@cache
def chinesecalendar_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@dataclass(frozen=True)
class _HolidaysYear:
    rest: dict[date, str]  # day → holiday key
    makeup: frozenset[date]  # weekend days declared working days


def _key_of(raw: str) -> str:
    parts = [_OBSERVED.sub("", part.strip()) for part in raw.split(";")]
    keys = [_ALIASES.get(part) for part in parts]
    known = [key for key in keys if key is not None]
    if not known:
        return raw
    return next((key for key in _PRECEDENCE if key in known), known[0])


@cache
def _holidays_year(year: int) -> _HolidaysYear:
    china = holidays.country_holidays("CN", years=year, language="en_US")
    rest: dict[date, str] = {}
    substituted: list[date] = []
    for day, raw in sorted(china.items()):
        if raw.startswith(_SUBSTITUTED):
            substituted.append(day)
        else:
            rest[day] = _key_of(raw)
    for day in substituted:
        # A bridging day off takes the name of the holiday it joins (the nearest named day).
        near = sorted((d for d in rest if abs((d - day).days) <= 7), key=lambda d: abs((d - day).days))
        rest[day] = rest[near[0]] if near else PUBLIC_HOLIDAY
    makeup = frozenset(d for d in getattr(china, "weekend_workdays", ()) if d.year == year)
    return _HolidaysYear(rest, makeup)


def library_day(day: date) -> OfficialDay:
    """The libraries' answer for `day` (chinesecalendar, else python-holidays)."""
    if chinesecalendar_covers(day.year):
        workday = bool(chinese_calendar.is_workday(day))
        is_holiday, name = chinese_calendar.get_holiday_detail(day)
        holiday = str(name) if is_holiday and name else None
        return OfficialDay(day, workday, holiday, workday and day.weekday() >= 5, Source.CHINESECALENDAR)
    data = _holidays_year(day.year)
    source = Source.HOLIDAYS if data.makeup else Source.PROVISIONAL
    if source == Source.PROVISIONAL:
        _log_provisional(day.year)
    if day in data.makeup:
        return OfficialDay(day, True, None, True, source)
    holiday = data.rest.get(day)
    return OfficialDay(day, holiday is None and day.weekday() < 5, holiday, False, source)


@cache
def _log_provisional(year: int) -> None:
    """Once per year and process, for the operator's log (people are told by `calendar show`)."""
    log.info(
        "official days of %s are provisional: holidays from python-holidays, make-up working days not yet "
        "published; import the State Council's arrangement with `bot.py calendar import`",
        year,
    )


@cache
def lunar_new_year(year: int) -> date:
    """正月初一 of `year`, from python-holidays' lunisolar calendar."""
    china = holidays.country_holidays("CN", years=year, language="en_US")
    return min(d for d, name in china.items() if name.startswith("Chinese New Year (Spring Festival)"))


def spring_festival_eve(year: int) -> date:
    """除夕: the day before 正月初一."""
    return lunar_new_year(year) - timedelta(days=1)


# --- with the imported years -----------------------------------------------------------------------


@dataclass(frozen=True)
class ImportedYear:
    """The State Council's arrangement for one year: its days off and its make-up working days."""

    year: int
    days_off: Mapping[date, str] = field(default_factory=dict)  # day → holiday key
    workdays: frozenset[date] = frozenset()


@dataclass(frozen=True)
class OfficialCalendar:
    """Official days: imported years first, then the libraries."""

    imported: Mapping[int, ImportedYear] = field(default_factory=dict)

    def day(self, day: date) -> OfficialDay:
        arrangement = self.imported.get(day.year)
        if arrangement is None:
            return library_day(day)
        if day in arrangement.workdays:
            return OfficialDay(day, True, None, day.weekday() >= 5, Source.IMPORTED)
        holiday = arrangement.days_off.get(day)
        return OfficialDay(day, holiday is None and day.weekday() < 5, holiday, False, Source.IMPORTED)

    def is_workday(self, day: date) -> bool:
        return self.day(day).workday

    def source(self, year: int) -> Source:
        return self.day(date(year, 1, 1)).source

    def provisional_years(self, years: Iterable[int]) -> list[int]:
        """The years among `years` whose 调休 are not yet confirmed (import them when published)."""
        return sorted({y for y in years if self.source(y) == Source.PROVISIONAL})


LIBRARIES = OfficialCalendar()


def load_official(session: Session) -> OfficialCalendar:
    """The imported arrangements (a few dozen rows a year) over the libraries."""
    days_off: dict[int, dict[date, str]] = {}
    workdays: dict[int, set[date]] = {}
    years: set[int] = set()
    for row in session.scalars(select(OfficialDayEntry)):
        years.add(row.year)
        if row.workday:
            workdays.setdefault(row.year, set()).add(row.day)
        else:
            days_off.setdefault(row.year, {})[row.day] = row.holiday or PUBLIC_HOLIDAY
    if not years:
        return LIBRARIES
    return OfficialCalendar(
        {
            year: ImportedYear(year, days_off.get(year, {}), frozenset(workdays.get(year, set())))
            for year in years
        }
    )


def holiday_label(name: str) -> str:
    """The msgid for a holiday key (translate with _() when shown); unknown names are 'Public holiday'."""
    return HOLIDAY_LABELS.get(name, PUBLIC_HOLIDAY)
