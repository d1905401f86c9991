"""is_school_day / school_days: terms, vacations, holidays, make-up days and per-school overrides."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.calendar.official import LIBRARIES
from chatbot.calendar.service import is_school_day, load_calendar, school_days
from db.models import Region, School
from db.models.calendar import CalendarEntry, CalendarKind
from db.session import transaction

PRIMARY, JUNIOR = "红星小学", "东乡第一初级中学"


def school(session, name: str) -> School:  # type: ignore[no-untyped-def]
    return session.scalars(select(School).where(School.name == name)).one()


def add(
    app: App, kind: CalendarKind, first: date, last: date, name: str = "", school_name: str | None = None
) -> None:
    with transaction(app.session_factory) as s:
        region = s.scalars(select(Region)).one()
        s.add(
            CalendarEntry(
                region_id=region.id,
                school_id=school(s, school_name).id if school_name else None,
                kind=kind,
                name=name,
                first_day=first,
                last_day=last,
                created_at=datetime(2026, 11, 1, tzinfo=UTC),
            )
        )


@pytest.fixture
def overrides(app: App) -> App:
    # The junior school starts its spring term a week early; the primary school has a sports-day off
    # and an extra Saturday; the region gives everyone a day off for a county event.
    add(app, CalendarKind.TERM, date(2027, 2, 15), date(2027, 7, 9), "spring", JUNIOR)
    add(app, CalendarKind.VACATION, date(2027, 1, 16), date(2027, 2, 14), "winter", JUNIOR)
    add(app, CalendarKind.DAY_OFF, date(2026, 12, 4), date(2026, 12, 4), "sports day", PRIMARY)
    add(app, CalendarKind.SCHOOL_DAY, date(2026, 12, 12), date(2026, 12, 12), "open day", PRIMARY)
    add(app, CalendarKind.DAY_OFF, date(2026, 12, 18), date(2026, 12, 18), "county exam")
    return app


SCHOOL_DAYS = [
    (PRIMARY, date(2026, 11, 23), True, "ordinary Monday in the autumn term"),
    (PRIMARY, date(2026, 11, 21), False, "Saturday"),
    (PRIMARY, date(2026, 10, 1), False, "National Day holiday"),
    (PRIMARY, date(2026, 10, 8), True, "first day after the long National Day break"),
    (PRIMARY, date(2026, 10, 10), True, "make-up Saturday (调休) is a school day"),
    (PRIMARY, date(2026, 9, 20), True, "make-up Sunday (调休) in term"),
    (PRIMARY, date(2026, 8, 31), False, "summer vacation before term"),
    (PRIMARY, date(2027, 1, 18), False, "winter vacation Monday"),
    (PRIMARY, date(2027, 2, 22), True, "first day of the spring term"),
    (JUNIOR, date(2027, 2, 15), True, "school's own earlier spring term replaces the region's"),
    (PRIMARY, date(2027, 2, 15), False, "region still on winter vacation"),
    (PRIMARY, date(2026, 12, 4), False, "school-specific day off"),
    (JUNIOR, date(2026, 12, 4), True, "other school unaffected"),
    (PRIMARY, date(2026, 12, 12), True, "extra school Saturday"),
    (JUNIOR, date(2026, 12, 18), False, "region-wide day off"),
    (PRIMARY, date(2027, 5, 4), False, "2027 from python-holidays: Labour Day, observed"),
    (PRIMARY, date(2027, 6, 9), False, "2027 from python-holidays: Dragon Boat Festival"),
    (PRIMARY, date(2027, 5, 6), True, "2027: an ordinary Thursday"),
    (PRIMARY, date(2027, 10, 1), False, "after the summer: no term entered"),
]


def test_is_school_day(overrides: App) -> None:
    # One database for the whole table: the cases only read.
    with overrides.session_factory() as s:
        for school_name, day, expected, why in SCHOOL_DAYS:
            assert is_school_day(s, school(s, school_name), day) is expected, (school_name, day, why)


def test_make_up_saturday_inside_a_vacation_is_not_a_school_day(app: App) -> None:
    # 2026-01-04 was an official make-up Sunday; a school on winter vacation stays closed.
    add(app, CalendarKind.VACATION, date(2025, 12, 27), date(2026, 1, 10), "winter", PRIMARY)
    add(app, CalendarKind.TERM, date(2025, 9, 1), date(2025, 12, 26), "autumn", PRIMARY)
    with app.session_factory() as s:
        assert not is_school_day(s, school(s, PRIMARY), date(2026, 1, 4))
    assert LIBRARIES.day(date(2026, 1, 4)).makeup  # it is an official make-up working day


def test_school_days_over_the_national_day_week(app: App) -> None:
    with app.session_factory() as s:
        days = school_days(s, school(s, PRIMARY), date(2026, 9, 28), date(2026, 10, 11))
    assert days == [
        date(2026, 9, 28),
        date(2026, 9, 29),
        date(2026, 9, 30),
        date(2026, 10, 8),
        date(2026, 10, 9),
        date(2026, 10, 10),
    ]


def test_twenty_school_days_window_matches_day_by_day_answer(app: App) -> None:
    with app.session_factory() as s:
        primary = school(s, PRIMARY)
        batch = school_days(s, primary, date(2026, 9, 1), date(2026, 10, 31))
        calendar = load_calendar(s, primary)
        one_by_one = [
            d
            for d in (
                date.fromordinal(o)
                for o in range(date(2026, 9, 1).toordinal(), date(2026, 10, 31).toordinal() + 1)
            )
            if is_school_day(s, primary, d)
        ]
    assert batch == one_by_one
    assert calendar.nth_school_day(date(2026, 9, 1), 3) == date(2026, 9, 4)


def test_region_without_calendar_uses_official_working_days(empty_app: App) -> None:
    with transaction(empty_app.session_factory) as s:
        region = Region(code="r", name="R", timezone="Asia/Shanghai", settings={})
        s.add(region)
        s.flush()
        s.add(School(region_id=region.id, name="S"))
    with empty_app.session_factory() as s:
        lone = s.scalars(select(School)).one()
        assert is_school_day(s, lone, date(2026, 11, 23))
        assert not is_school_day(s, lone, date(2026, 10, 1))
        assert is_school_day(s, lone, date(2026, 10, 10))
