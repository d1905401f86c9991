"""Official rest days and make-up working days (调休) of mainland China, from chinesecalendar.

The library is the source of truth for the years it covers. For later years (the State Council
publishes each year's arrangement in November) we fall back to: weekends, the statutory days with
fixed dates (元旦, 劳动节, 国庆节), Qingming (solar term, from the library) and Spring Festival
(除夕 to 初三, from an astronomical new-moon computation). Dragon Boat, Mid-Autumn and the
make-up Saturdays are unknown for those years: a warning says so once per year, and operators
add them with `bot.py calendar import` until the library is upgraded.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache

import chinese_calendar

from chatbot.i18n import N_

log = logging.getLogger(__name__)

CHINA_OFFSET = timedelta(hours=8)

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


@dataclass(frozen=True)
class OfficialDay:
    day: date
    workday: bool
    holiday: str | None  # English name as the library spells it (see HOLIDAY_LABELS)
    makeup: bool  # a weekend day that is an official working day (调休)
    from_library: bool


_warned_years: set[int] = set()


def _library_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@cache
def library_covers(year: int) -> bool:
    return _library_covers(year)


def _warn_fallback(year: int) -> None:
    if year not in _warned_years:
        _warned_years.add(year)
        log.warning(
            "chinesecalendar has no data for %s: using weekends, fixed-date holidays, Qingming and a "
            "computed Spring Festival; Dragon Boat, Mid-Autumn and make-up working days are unknown "
            "until the library is upgraded or entered with `bot.py calendar import`",
            year,
        )


def official_day(day: date) -> OfficialDay:
    """Whether `day` is an official working day, which holiday it belongs to, and whether it is 调休."""
    if library_covers(day.year):
        workday = bool(chinese_calendar.is_workday(day))
        is_holiday, name = chinese_calendar.get_holiday_detail(day)
        holiday = str(name) if is_holiday and name else None
        return OfficialDay(day, workday, holiday, workday and day.weekday() >= 5, True)
    _warn_fallback(day.year)
    holiday = _fallback_holidays(day.year).get(day)
    workday = holiday is None and day.weekday() < 5
    return OfficialDay(day, workday, holiday, False, False)


def is_official_workday(day: date) -> bool:
    """Official working day in mainland China, make-up Saturdays (调休) included."""
    return official_day(day).workday


@cache
def _fallback_holidays(year: int) -> dict[date, str]:
    days: dict[date, str] = {date(year, 1, 1): "New Year's Day"}
    new_year = lunar_new_year(year)
    for offset in range(-1, 3):
        days[new_year + timedelta(days=offset)] = "Spring Festival"
    for day, term in chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 10)):
        if term == "清明":
            days[day] = "Tomb-sweeping Day"
    for day_of_may in (1, 2):
        days[date(year, 5, day_of_may)] = "Labour Day"
    for day_of_october in (1, 2, 3):
        days[date(year, 10, day_of_october)] = "National Day"
    return days


# --- Spring Festival -------------------------------------------------------------------------------


def _new_moon_jde(k: int) -> float:
    """Julian ephemeris day of lunation k (k=0: January 2000), Meeus, Astronomical Algorithms ch. 49."""
    t = k / 1236.85
    jde = 2451550.09766 + 29.530588861 * k + 0.00015437 * t**2 - 0.000000150 * t**3 + 0.00000000073 * t**4
    e = 1 - 0.002516 * t - 0.0000074 * t**2
    m = math.radians(2.5534 + 29.10535670 * k - 0.0000014 * t**2 - 0.00000011 * t**3)
    mp = math.radians(201.5643 + 385.81693528 * k + 0.0107582 * t**2 + 0.00001238 * t**3 - 0.000000058 * t**4)
    f = math.radians(160.7108 + 390.67050284 * k - 0.0016118 * t**2 - 0.00000227 * t**3)
    om = math.radians(124.7746 - 1.56375588 * k + 0.0020672 * t**2 + 0.00000215 * t**3)
    jde += (
        -0.40720 * math.sin(mp)
        + 0.17241 * e * math.sin(m)
        + 0.01608 * math.sin(2 * mp)
        + 0.01039 * math.sin(2 * f)
        + 0.00739 * e * math.sin(mp - m)
        - 0.00514 * e * math.sin(mp + m)
        + 0.00208 * e * e * math.sin(2 * m)
        - 0.00111 * math.sin(mp - 2 * f)
        - 0.00057 * math.sin(mp + 2 * f)
        + 0.00056 * e * math.sin(2 * mp + m)
        - 0.00042 * math.sin(3 * mp)
        + 0.00042 * e * math.sin(m + 2 * f)
        + 0.00038 * e * math.sin(m - 2 * f)
        - 0.00024 * e * math.sin(2 * mp - m)
        - 0.00017 * math.sin(om)
        - 0.00007 * math.sin(mp + 2 * m)
        + 0.00004 * math.sin(2 * mp - 2 * f)
        + 0.00004 * math.sin(3 * m)
        + 0.00004 * math.sin(mp + m - 2 * f)
        + 0.00003 * math.sin(2 * mp + 2 * f)
        - 0.00003 * math.sin(mp + m + 2 * f)
        + 0.00003 * math.sin(mp - m + 2 * f)
        - 0.00002 * math.sin(mp - m - 2 * f)
        - 0.00002 * math.sin(3 * mp + m)
        + 0.00002 * math.sin(4 * mp)
    )
    return jde


def _china_date_of_new_moon(k: int) -> date:
    # ΔT (TT − UT) is about 70 s in this century; the small planetary terms are below a minute.
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=_new_moon_jde(k) - 2440587.5, seconds=-70)
    return (moment + CHINA_OFFSET).date()


@cache
def lunar_new_year(year: int) -> date:
    """正月初一 of `year`: the new moon (Beijing date) between January 21 and February 20.

    This window rule also gets the leap-eleventh-month years right (2034: February 19), where
    "the second new moon after the winter solstice" does not.
    """
    k = math.floor((year - 2000) * 12.3685) - 1
    while True:
        day = _china_date_of_new_moon(k)
        if date(year, 1, 21) <= day <= date(year, 2, 20):
            return day
        k += 1


def spring_festival_eve(year: int) -> date:
    """除夕: the day before 正月初一."""
    return lunar_new_year(year) - timedelta(days=1)


def holiday_label(name: str) -> str:
    """The msgid for a holiday name (translate with _() when shown)."""
    return HOLIDAY_LABELS.get(name, name)
