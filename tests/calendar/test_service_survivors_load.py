"""load_calendar over the real database: which list each day off or extra school day lands in, and
the order of the days off (by first day, whatever order they were entered in)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update

from chatbot.app import App
from chatbot.calendar.service import Period, load_calendar
from db.models.calendar import CalendarEntry, CalendarKind
from db.session import transaction
from tests.calendar.test_service import PRIMARY, add, school


def test_days_off_and_extra_days_are_kept_apart_by_level(app: App) -> None:
    add(app, CalendarKind.DAY_OFF, date(2026, 12, 4), date(2026, 12, 4), "sports day", PRIMARY)
    add(app, CalendarKind.DAY_OFF, date(2026, 12, 18), date(2026, 12, 18), "county exam")
    add(app, CalendarKind.SCHOOL_DAY, date(2026, 12, 12), date(2026, 12, 12), "open day", PRIMARY)
    add(app, CalendarKind.SCHOOL_DAY, date(2026, 12, 19), date(2026, 12, 19), "county make-up")
    with app.session_factory() as s:
        calendar = load_calendar(s, school(s, PRIMARY))
    assert calendar.school_days_off == [
        Period(CalendarKind.DAY_OFF, "sports day", date(2026, 12, 4), date(2026, 12, 4), None, True)
    ]
    assert calendar.region_days_off == [
        Period(CalendarKind.DAY_OFF, "county exam", date(2026, 12, 18), date(2026, 12, 18), None, False)
    ]
    assert calendar.school_extra_days == [
        Period(CalendarKind.SCHOOL_DAY, "open day", date(2026, 12, 12), date(2026, 12, 12), None, True)
    ]
    assert calendar.region_extra_days == [
        Period(CalendarKind.SCHOOL_DAY, "county make-up", date(2026, 12, 19), date(2026, 12, 19), None, False)
    ]


def test_a_school_day_off_beats_a_region_extra_day_and_a_region_extra_day_beats_a_region_day_off(
    app: App,
) -> None:
    add(app, CalendarKind.SCHOOL_DAY, date(2026, 12, 5), date(2026, 12, 5), "county make-up")
    add(app, CalendarKind.DAY_OFF, date(2026, 12, 5), date(2026, 12, 5), "sports day", PRIMARY)
    add(app, CalendarKind.DAY_OFF, date(2026, 12, 1), date(2026, 12, 5), "snow")
    add(app, CalendarKind.SCHOOL_DAY, date(2026, 12, 2), date(2026, 12, 2), "exam day")
    with app.session_factory() as s:
        calendar = load_calendar(s, school(s, PRIMARY))
    assert calendar.is_school_day(date(2026, 12, 5)) is False
    assert calendar.is_school_day(date(2026, 12, 2)) is True
    assert calendar.is_school_day(date(2026, 12, 3)) is False


def test_days_off_come_by_first_day_not_by_entry_order(app: App) -> None:
    add(app, CalendarKind.DAY_OFF, date(2026, 12, 18), date(2026, 12, 18), "county exam")
    add(app, CalendarKind.DAY_OFF, date(2026, 12, 4), date(2026, 12, 4), "sports day")
    add(app, CalendarKind.DAY_OFF, date(2026, 12, 11), date(2026, 12, 11), "teachers' training")
    with app.session_factory() as s:
        calendar = load_calendar(s, school(s, PRIMARY))
    assert [p.name for p in calendar.region_days_off] == ["sports day", "teachers' training", "county exam"]


def test_days_off_on_the_same_first_day_keep_their_entry_order(app: App) -> None:
    add(app, CalendarKind.DAY_OFF, date(2026, 12, 4), date(2026, 12, 4), "zeta")
    add(app, CalendarKind.DAY_OFF, date(2026, 12, 4), date(2026, 12, 4), "alpha")
    # Moving the first entry away and back puts its row behind the second in PostgreSQL's table and
    # index: only the ORDER BY on the id keeps the order they were entered in.
    for day in (date(2026, 12, 5), date(2026, 12, 4)):
        with transaction(app.session_factory) as s:
            s.execute(
                update(CalendarEntry).where(CalendarEntry.name == "zeta").values(first_day=day, last_day=day)
            )
    with app.session_factory() as s:
        calendar = load_calendar(s, school(s, PRIMARY))
    assert [p.name for p in calendar.region_days_off] == ["zeta", "alpha"]
