"""Official holidays and make-up days come from chinesecalendar; later years fall back sensibly."""

from __future__ import annotations

import logging
from datetime import date

import chinese_calendar
import pytest

from chatbot.calendar.official import is_official_workday, library_covers, lunar_new_year, official_day


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
def test_library_years(day: date, workday: bool, holiday: str | None, makeup: bool) -> None:
    info = official_day(day)
    assert (info.workday, info.holiday, info.makeup, info.from_library) == (workday, holiday, makeup, True)


def test_computed_spring_festival_matches_the_library_in_every_year_it_covers() -> None:
    for year in range(2004, 2027):
        if library_covers(year):
            assert chinese_calendar.get_holiday_detail(lunar_new_year(year)) == (True, "Spring Festival"), (
                year
            )


@pytest.mark.parametrize(
    ("year", "new_year"),
    [
        (2027, date(2027, 2, 6)),
        (2028, date(2028, 1, 26)),
        (2033, date(2033, 1, 31)),
        (2034, date(2034, 2, 19)),
    ],
)
def test_lunar_new_year_beyond_the_library(year: int, new_year: date) -> None:
    assert lunar_new_year(year) == new_year


def test_fallback_for_years_the_library_lacks_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    year = next(y for y in range(2027, 2100) if not library_covers(y))
    from chatbot.calendar import official

    official._warned_years.discard(year)
    with caplog.at_level(logging.WARNING, logger="chatbot.calendar.official"):
        assert not is_official_workday(date(year, 10, 1))  # National Day, fixed date
        assert not is_official_workday(lunar_new_year(year))  # Spring Festival, computed
        assert not is_official_workday(date(year, 1, 1))
    assert f"no data for {year}" in caplog.text
    assert official_day(date(year, 10, 1)).from_library is False
