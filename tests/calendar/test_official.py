"""Official holidays and 调休: chinesecalendar for its years, python-holidays beyond, imports over both."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest

from chatbot.calendar.official import (
    LIBRARIES,
    ImportedYear,
    OfficialCalendar,
    Source,
    canonical_holiday,
    chinesecalendar_covers,
    holiday_label,
    lunar_new_year,
    spring_festival_eve,
)


@pytest.mark.parametrize(
    ("day", "workday", "holiday", "makeup"),
    [
        (date(2026, 10, 1), False, "National Day", False),  # a public holiday on a Thursday
        (date(2026, 10, 8), True, None, False),  # the day after the long National Day break
        (date(2026, 9, 20), True, None, True),  # make-up Sunday (调休)
        (date(2026, 10, 10), True, None, True),  # make-up Saturday (调休)
        (date(2026, 11, 21), False, None, False),  # an ordinary Saturday
        (date(2026, 2, 17), False, "Spring Festival", False),
    ],
)
def test_chinesecalendar_years(day: date, workday: bool, holiday: str | None, makeup: bool) -> None:
    info = LIBRARIES.day(day)
    assert (info.workday, info.holiday, info.makeup, info.source) == (
        workday,
        holiday,
        makeup,
        Source.CHINESECALENDAR,
    )
    assert info.confirmed


def _blocks(year: int) -> list[tuple[str, date, date]]:
    """The year's runs of official days off that carry a holiday name, as (holiday, first, last)."""
    blocks: list[tuple[str, date, date]] = []
    day = date(year, 1, 1)
    while day.year == year:
        info = LIBRARIES.day(day)
        if info.holiday and not info.workday:
            if blocks and blocks[-1][0] == info.holiday and blocks[-1][2] == day - timedelta(days=1):
                blocks[-1] = (info.holiday, blocks[-1][1], day)
            else:
                blocks.append((info.holiday, day, day))
        day += timedelta(days=1)
    return blocks


# 2027 as python-holidays computes it (statutory days, observed days when one falls on a weekend).
# The State Council's notice for 2027 may differ; it comes in with `calendar import` (see below).
HOLIDAYS_2027 = [
    ("New Year's Day", date(2027, 1, 1), date(2027, 1, 1)),
    ("Spring Festival", date(2027, 2, 5), date(2027, 2, 10)),
    ("Tomb-sweeping Day", date(2027, 4, 5), date(2027, 4, 5)),
    ("Labour Day", date(2027, 5, 1), date(2027, 5, 4)),
    ("Dragon Boat Festival", date(2027, 6, 9), date(2027, 6, 9)),
    ("Mid-autumn Festival", date(2027, 9, 15), date(2027, 9, 15)),
    ("National Day", date(2027, 10, 1), date(2027, 10, 5)),
]


@pytest.mark.parametrize(("holiday", "first", "last"), HOLIDAYS_2027)
def test_2027_blocks_come_from_python_holidays(holiday: str, first: date, last: date) -> None:
    assert not chinesecalendar_covers(2027)
    assert (holiday, first, last) in _blocks(2027)
    assert LIBRARIES.day(first - timedelta(days=1)).holiday != holiday  # the block starts where it says
    for offset in range((last - first).days + 1):
        assert not LIBRARIES.is_workday(first + timedelta(days=offset))


def test_2027_has_exactly_these_blocks_and_is_provisional() -> None:
    assert _blocks(2027) == HOLIDAYS_2027
    assert LIBRARIES.day(date(2027, 5, 4)).source == Source.PROVISIONAL
    assert not LIBRARIES.day(date(2027, 5, 4)).confirmed
    assert LIBRARIES.is_workday(date(2027, 5, 6))  # an ordinary Thursday after the Labour Day break


def test_a_day_two_festivals_share_is_named_by_the_longer_break() -> None:
    # 2028: Mid-Autumn falls on 3 October, inside the National Day break.
    assert LIBRARIES.day(date(2028, 10, 3)).holiday == "National Day"
    assert ("National Day", date(2028, 10, 1), date(2028, 10, 4)) in _blocks(2028)


@pytest.mark.parametrize(
    ("year", "new_year"),
    [
        (2026, date(2026, 2, 17)),
        (2027, date(2027, 2, 6)),
        (2028, date(2028, 1, 26)),
        (2033, date(2033, 1, 31)),
        (2034, date(2034, 2, 19)),  # a leap-eleventh-month year
    ],
)
def test_lunar_new_year(year: int, new_year: date) -> None:
    assert lunar_new_year(year) == new_year
    assert spring_festival_eve(year) == new_year - timedelta(days=1)


def test_lunar_new_year_matches_chinesecalendar_in_every_year_it_covers() -> None:
    years = [y for y in range(2004, 2040) if chinesecalendar_covers(y)]
    assert len(years) >= 20
    for year in years:
        assert chinese_calendar.get_holiday_detail(lunar_new_year(year)) == (True, "Spring Festival"), year


IMPORTED_2027 = ImportedYear(
    2027,
    days_off={
        **{date(2027, 2, 5) + timedelta(days=n): "Spring Festival" for n in range(7)},
        date(2027, 5, 1): "Labour Day",
    },
    workdays=frozenset({date(2027, 2, 20), date(2027, 2, 21)}),
)


@pytest.mark.parametrize(
    ("day", "workday", "holiday", "makeup"),
    [
        (date(2027, 2, 11), False, "Spring Festival", False),  # the import's longer break wins
        (date(2027, 2, 20), True, None, True),  # an imported 调休 Saturday
        (date(2027, 2, 22), True, None, False),
        (date(2027, 5, 4), True, None, False),  # the library's observed day is not in the import
        (date(2027, 5, 8), False, None, False),  # an ordinary Saturday
    ],
)
def test_an_imported_year_replaces_the_library(
    day: date, workday: bool, holiday: str | None, makeup: bool
) -> None:
    calendar = OfficialCalendar({2027: IMPORTED_2027})
    info = calendar.day(day)
    assert (info.workday, info.holiday, info.makeup, info.source) == (
        workday,
        holiday,
        makeup,
        Source.IMPORTED,
    )
    assert calendar.day(date(2028, 5, 2)).source == LIBRARIES.day(date(2028, 5, 2)).source  # other years


def test_provisional_years_are_those_neither_imported_nor_in_a_library_with_their_tiao_xiu() -> None:
    assert LIBRARIES.provisional_years(range(2025, 2029)) == [2027, 2028]
    assert OfficialCalendar({2027: IMPORTED_2027}).provisional_years(range(2025, 2029)) == [2028]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("春节", "Spring Festival"),
        ("国庆节", "National Day"),
        ("Labor Day", "Labour Day"),
        ("Qingming Festival", "Tomb-sweeping Day"),
        ("中秋节", "Mid-autumn Festival"),
        ("圣诞节", None),
    ],
)
def test_holiday_names_operators_type(name: str, key: str | None) -> None:
    assert canonical_holiday(name) == key


def test_an_unknown_holiday_name_is_shown_as_a_public_holiday() -> None:
    assert holiday_label("Something else") == "Public holiday"
    assert holiday_label("Dragon Boat Festival") == "Dragon Boat Festival"
