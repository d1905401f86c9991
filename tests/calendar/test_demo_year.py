"""The demo county's school year, date by date: each rule of `typical_school_year` and `seed_calendar`.

Every expected date below was worked out by hand from the docstring's rules and a 万年历 (perpetual
calendar), not copied from the function: the comment next to it says how.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.calendar.demo import (
    _weekday_on_or_after,
    _weekday_on_or_before,
    seed_calendar,
    typical_school_year,
)
from chatbot.calendar.official import lunar_new_year
from db.models import Region
from db.models.calendar import CalendarEntry, CalendarKind
from db.session import transaction

TERM, VACATION = CalendarKind.TERM, CalendarKind.VACATION
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)

# Wednesday 5 May 2027 (1 Jan 2027 is a Friday; 5 May is 124 days later, 124 = 17·7 + 5: Fri + 5 = Wed).
WED_5_MAY_2027 = date(2027, 5, 5)


@pytest.mark.parametrize(
    ("weekday", "expected"),
    [
        (MON, date(2027, 5, 10)),  # Wed → next Monday, 5 days on
        (TUE, date(2027, 5, 11)),  # 6 days on: the largest step
        (WED, date(2027, 5, 5)),  # already a Wednesday: the day itself
        (THU, date(2027, 5, 6)),
        (FRI, date(2027, 5, 7)),
        (SAT, date(2027, 5, 8)),
        (SUN, date(2027, 5, 9)),
    ],
)
def test_weekday_on_or_after(weekday: int, expected: date) -> None:
    assert WED_5_MAY_2027.weekday() == WED
    assert _weekday_on_or_after(WED_5_MAY_2027, weekday) == expected
    assert expected.weekday() == weekday


@pytest.mark.parametrize(
    ("weekday", "expected"),
    [
        (MON, date(2027, 5, 3)),  # Wed → the Monday before, 2 days back
        (TUE, date(2027, 5, 4)),
        (WED, date(2027, 5, 5)),  # already a Wednesday: the day itself
        (THU, date(2027, 4, 29)),  # 6 days back: the largest step, into April
        (FRI, date(2027, 4, 30)),
        (SAT, date(2027, 5, 1)),
        (SUN, date(2027, 5, 2)),
    ],
)
def test_weekday_on_or_before(weekday: int, expected: date) -> None:
    assert _weekday_on_or_before(WED_5_MAY_2027, weekday) == expected
    assert expected.weekday() == weekday


# 正月初一 (the lunar new year) of the spring that ends each school year, from a perpetual calendar.
LUNAR_NEW_YEARS = {
    2027: date(2027, 2, 6),  # Saturday
    2028: date(2028, 1, 26),  # Wednesday
    2030: date(2030, 2, 3),  # Sunday
    2031: date(2031, 1, 23),  # Thursday
    2033: date(2033, 1, 31),  # Monday: so is the Lantern Festival, 正月十五, two weeks later
    2034: date(2034, 2, 19),  # Sunday
}


@pytest.mark.parametrize(("year", "expected"), sorted(LUNAR_NEW_YEARS.items()))
def test_the_lunar_new_years_the_table_below_relies_on(year: int, expected: date) -> None:
    assert lunar_new_year(year) == expected


# The rules: autumn from 1 September (the Monday after when it is a Saturday or Sunday); winter from the
# Saturday on or before 21 days ahead of 正月初一; spring from the first Monday from 正月十六 (the day
# after the Lantern Festival, 正月初一 + 15); summer from the second Saturday of July; each period ends the
# day before the next, and the summer vacation on 31 August.
SCHOOL_YEARS = {
    2026: [
        # 1 Sep 2026 is a Tuesday (1 Jan 2026 is a Thursday; 1 Sep is 243 days later, 243 % 7 = 5).
        (TERM, "autumn", date(2026, 9, 1), date(2027, 1, 15)),
        # 正月初一 2027-02-06 (Sat) − 21 days = Sat 2027-01-16: already a Saturday, no step back.
        (VACATION, "winter", date(2027, 1, 16), date(2027, 2, 21)),
        # 02-06 + 15 = Sun 2027-02-21 → Monday 02-22. 1 Jul 2027 is a Thursday: Saturdays 3 and 10 July.
        (TERM, "spring", date(2027, 2, 22), date(2027, 7, 9)),
        (VACATION, "summer", date(2027, 7, 10), date(2027, 8, 31)),
    ],
    2027: [
        # 1 Sep 2027 is a Wednesday.
        (TERM, "autumn", date(2027, 9, 1), date(2027, 12, 31)),
        # 正月初一 2028-01-26 (Wed) − 21 = Wed 2028-01-05 → back 4 days to Sat 2028-01-01 (New Year's Day).
        (VACATION, "winter", date(2028, 1, 1), date(2028, 2, 13)),
        # 01-26 + 15 = Thu 2028-02-10 → Monday 02-14. 1 Jul 2028 is itself a Saturday (1 Jan 2028 is a
        # Saturday and 2028 is a leap year: 1 Jul is 182 = 26·7 days later), so the second is 8 July.
        (TERM, "spring", date(2028, 2, 14), date(2028, 7, 7)),
        (VACATION, "summer", date(2028, 7, 8), date(2028, 8, 31)),
    ],
    2029: [
        # 1 Sep 2029 is a Saturday (1 Jan 2029 is a Monday, + 243 days → Saturday): term from Mon 3 Sep.
        (TERM, "autumn", date(2029, 9, 3), date(2030, 1, 11)),
        # 正月初一 2030-02-03 (Sun) − 21 = Sun 2030-01-13 → back 1 day to Sat 2030-01-12.
        (VACATION, "winter", date(2030, 1, 12), date(2030, 2, 17)),
        # 02-03 + 15 = 2030-02-18, already a Monday. 1 Jul 2030 is a Monday: Saturdays 6 and 13 July.
        (TERM, "spring", date(2030, 2, 18), date(2030, 7, 12)),
        (VACATION, "summer", date(2030, 7, 13), date(2030, 8, 31)),
    ],
    2030: [
        # 1 Sep 2030 is a Sunday (1 Jan 2030 is a Tuesday, + 243 days → Sunday): term from Mon 2 Sep.
        (TERM, "autumn", date(2030, 9, 2), date(2030, 12, 27)),
        # 正月初一 2031-01-23 (Thu) − 21 = Thu 2031-01-02 → back 5 days to Sat 2030-12-28: the winter
        # vacation starts in the autumn's calendar year.
        (VACATION, "winter", date(2030, 12, 28), date(2031, 2, 9)),
        # 01-23 + 15 = Fri 2031-02-07 → Monday 02-10. 1 Jul 2031 is a Tuesday: Saturdays 5 and 12 July.
        (TERM, "spring", date(2031, 2, 10), date(2031, 7, 11)),
        (VACATION, "summer", date(2031, 7, 12), date(2031, 8, 31)),
    ],
    2032: [
        # 1 Sep 2032 is a Wednesday (1 Jan 2032 is a Thursday; leap year: 1 Sep is 244 days later).
        (TERM, "autumn", date(2032, 9, 1), date(2033, 1, 7)),
        # 正月初一 2033-01-31 (Mon) − 21 = Mon 2033-01-10 → back 2 days to Sat 2033-01-08.
        (VACATION, "winter", date(2033, 1, 8), date(2033, 2, 20)),
        # The Lantern Festival is Monday 02-14; the day after it, Tue 02-15, → the next Monday, 02-21.
        # 1 Jul 2033 is a Friday: Saturdays 2 and 9 July.
        (TERM, "spring", date(2033, 2, 21), date(2033, 7, 8)),
        (VACATION, "summer", date(2033, 7, 9), date(2033, 8, 31)),
    ],
    2033: [
        # 1 Sep 2033 is a Thursday (1 Jan 2033 is a Saturday, + 243 days → Thursday).
        (TERM, "autumn", date(2033, 9, 1), date(2034, 1, 27)),
        # 正月初一 2034-02-19 (Sun; the lunar year 2033 has a leap 11th month, so it comes late)
        # − 21 = Sun 2034-01-29 → back 1 day to Sat 2034-01-28.
        (VACATION, "winter", date(2034, 1, 28), date(2034, 3, 5)),
        # 02-19 + 15 = 2034-03-06, already a Monday. 1 Jul 2034 is a Saturday: the second is 8 July.
        (TERM, "spring", date(2034, 3, 6), date(2034, 7, 7)),
        (VACATION, "summer", date(2034, 7, 8), date(2034, 8, 31)),
    ],
}


@pytest.mark.parametrize("year", sorted(SCHOOL_YEARS))
def test_typical_school_year(year: int) -> None:
    assert typical_school_year(year) == SCHOOL_YEARS[year]


@pytest.mark.parametrize("year", sorted(SCHOOL_YEARS))
def test_typical_school_year_keeps_its_own_rules(year: int) -> None:
    """The shape, independent of the table: contiguous periods, weekdays as the docstring says."""
    (
        (_, _, autumn, autumn_end),
        (_, _, winter, winter_end),
        (_, _, spring, spring_end),
        (_, _, summer, end),
    ) = typical_school_year(year)
    assert autumn.weekday() < 5 and date(year, 9, 1) <= autumn <= date(year, 9, 3)
    assert winter.weekday() == SAT and spring.weekday() == MON and summer.weekday() == SAT
    assert autumn_end == winter - timedelta(days=1)
    assert winter_end == spring - timedelta(days=1)
    assert spring_end == summer - timedelta(days=1)
    assert end == date(year + 1, 8, 31)
    assert 8 <= summer.day <= 14 and summer.month == 7  # the second Saturday of July
    new_year = lunar_new_year(year + 1)
    assert 21 <= (new_year - winter).days <= 27
    assert 15 <= (spring - new_year).days <= 21


# --- seed_calendar ---------------------------------------------------------------------------------


def _add_region(app: App, code: str, timezone: str) -> int:
    with transaction(app.session_factory) as s:
        region = Region(code=code, name="测试县", timezone=timezone, aid_pack=None, settings={})
        s.add(region)
        s.flush()
        return region.id


def _seed(app: App, region_id: int, now: datetime) -> bool:
    with transaction(app.session_factory) as s:
        region = s.get(Region, region_id)
        assert region is not None
        return seed_calendar(s, region, now)


def _rows(app: App, region_id: int) -> list[tuple[object, ...]]:
    with app.session_factory() as s:
        entries = s.scalars(
            select(CalendarEntry)
            .where(CalendarEntry.region_id == region_id)
            .order_by(CalendarEntry.first_day)
        )
        return [(e.kind, e.name, e.first_day, e.last_day, e.school_id, e.note, e.created_at) for e in entries]


# School years turn on 1 August (`school_year_of`: August belongs to the coming autumn's year).
# 17:00 UTC on 31 July 2027 is already 01:00 on 1 August in Shanghai: school year 2027, not 2026.
JUL_31_2027_17H_UTC = datetime(2027, 7, 31, 17, 0, tzinfo=UTC)


def test_seed_calendar_adds_the_school_year_of_the_regions_local_date_once(empty_app: App) -> None:
    region_id = _add_region(empty_app, "seed-sh", "Asia/Shanghai")
    assert _seed(empty_app, region_id, JUL_31_2027_17H_UTC) is True
    now = JUL_31_2027_17H_UTC
    expected = [
        (TERM, "autumn", date(2027, 9, 1), date(2027, 12, 31), None, None, now),
        (VACATION, "winter", date(2028, 1, 1), date(2028, 2, 13), None, None, now),
        (TERM, "spring", date(2028, 2, 14), date(2028, 7, 7), None, None, now),
        (VACATION, "summer", date(2028, 7, 8), date(2028, 8, 31), None, None, now),
    ]
    assert _rows(empty_app, region_id) == expected
    # Again, a year later: the region has entries, so nothing is added or changed.
    assert _seed(empty_app, region_id, datetime(2028, 9, 1, 1, 0, tzinfo=UTC)) is False
    assert _rows(empty_app, region_id) == expected


def test_seed_calendar_reads_the_date_in_the_regions_timezone(empty_app: App) -> None:
    # 03:00 UTC on 1 August 2027 is still 20:00 on 31 July in Los Angeles: school year 2026.
    region_id = _add_region(empty_app, "seed-la", "America/Los_Angeles")
    now = datetime(2027, 8, 1, 3, 0, tzinfo=UTC)
    assert _seed(empty_app, region_id, now) is True
    rows = _rows(empty_app, region_id)
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("autumn", date(2026, 9, 1), date(2027, 1, 15)),
        ("winter", date(2027, 1, 16), date(2027, 2, 21)),
        ("spring", date(2027, 2, 22), date(2027, 7, 9)),
        ("summer", date(2027, 7, 10), date(2027, 8, 31)),
    ]


def test_seed_calendar_looks_only_at_its_own_regions_entries(app: App) -> None:
    with app.session_factory() as s:
        demo_id = s.scalars(select(Region.id).where(Region.code == "linxia-demo")).one()
    demo_before = _rows(app, demo_id)
    assert len(demo_before) == 4
    assert _seed(app, demo_id, JUL_31_2027_17H_UTC) is False  # the demo county has its calendar
    assert _rows(app, demo_id) == demo_before
    other = _add_region(app, "seed-other", "Asia/Shanghai")
    assert _seed(app, other, JUL_31_2027_17H_UTC) is True  # another region's entries do not count
    assert [(r[1], r[2]) for r in _rows(app, other)] == [
        ("autumn", date(2027, 9, 1)),
        ("winter", date(2028, 1, 1)),
        ("spring", date(2028, 2, 14)),
        ("summer", date(2028, 7, 8)),
    ]
    assert _rows(app, demo_id) == demo_before
