"""SchoolCalendar's date arithmetic, the /calendar event list and the library fallbacks, on calendars
built in memory.

The official days are an imported 2030 with no holidays (every weekday a working day, every weekend day
off) unless a test adds make-up working days, so every expected date below can be checked on a wall
calendar: 2030-03-04 is a Monday.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest

from chatbot.calendar import official as official_module
from chatbot.calendar import service
from chatbot.calendar.events import Event, describe, official_events, period_label, upcoming_events
from chatbot.calendar.official import ImportedYear, OfficialCalendar, OfficialDay, Source, library_day
from chatbot.calendar.service import Period, SchoolCalendar
from db.models.calendar import CalendarKind

PLAIN_2030 = OfficialCalendar({2030: ImportedYear(2030)})
MON_MAR_4 = date(2030, 3, 4)


def term(first: date, last: date, name: str = "spring") -> Period:
    return Period(CalendarKind.TERM, name, first, last)


def calendar(*periods: Period, official: OfficialCalendar = PLAIN_2030) -> SchoolCalendar:
    cal = SchoolCalendar(school_id=1, region_id=1, official=official)
    for p in periods:
        {
            CalendarKind.TERM: cal.terms,
            CalendarKind.VACATION: cal.vacations,
            CalendarKind.DAY_OFF: cal.region_days_off,
            CalendarKind.SCHOOL_DAY: cal.region_extra_days,
        }[p.kind].append(p)
    return cal


# --- first_school_day_after ------------------------------------------------------------------------

SPRING = term(MON_MAR_4, date(2030, 6, 28))


def test_after_a_friday_school_resumes_on_monday() -> None:
    assert calendar(SPRING).first_school_day_after(date(2030, 3, 8)) == date(2030, 3, 11)


def test_after_a_thursday_the_next_school_day_is_the_friday_strictly_after() -> None:
    assert calendar(SPRING).first_school_day_after(date(2030, 3, 7)) == date(2030, 3, 8)


def test_an_extra_school_day_outside_every_term_is_not_a_return_date() -> None:
    extra = Period(CalendarKind.SCHOOL_DAY, "open day", date(2030, 3, 2), date(2030, 3, 2))
    assert calendar(SPRING, extra).first_school_day_after(date(2030, 2, 28)) == MON_MAR_4


def test_a_term_starting_120_days_later_is_found_by_default() -> None:
    assert calendar(SPRING).first_school_day_after(MON_MAR_4 - timedelta(days=120)) == MON_MAR_4


def test_a_term_starting_121_days_later_is_beyond_the_default_horizon() -> None:
    assert calendar(SPRING).first_school_day_after(MON_MAR_4 - timedelta(days=121)) is None


def test_the_horizon_argument_is_inclusive() -> None:
    cal = calendar(SPRING)
    assert cal.first_school_day_after(date(2030, 2, 25), horizon=7) == MON_MAR_4
    assert cal.first_school_day_after(date(2030, 2, 25), horizon=6) is None


# --- term_on / next_term_after ---------------------------------------------------------------------

TERM_A = term(date(2030, 2, 25), date(2030, 7, 5), "spring")
TERM_B = term(date(2030, 9, 2), date(2030, 12, 20), "autumn")
TERM_C = term(date(2031, 2, 24), date(2031, 7, 4), "spring")


def test_term_on_finds_the_term_covering_a_day_first_and_last_days_included() -> None:
    cal = calendar(TERM_A, TERM_B)
    assert cal.term_on(date(2030, 2, 25)) == TERM_A
    assert cal.term_on(date(2030, 7, 5)) == TERM_A
    assert cal.term_on(date(2030, 9, 2)) == TERM_B


def test_term_on_a_summer_day_is_none() -> None:
    assert calendar(TERM_A, TERM_B).term_on(date(2030, 7, 6)) is None


def test_next_term_after_is_the_earliest_term_starting_strictly_later() -> None:
    cal = calendar(TERM_C, TERM_A, TERM_B)  # stored out of order
    assert cal.next_term_after(date(2030, 1, 10)) == TERM_A
    assert cal.next_term_after(date(2030, 2, 25)) == TERM_B
    assert cal.next_term_after(date(2030, 9, 1)) == TERM_B


def test_no_term_after_the_last_one_starts() -> None:
    assert calendar(TERM_C, TERM_A, TERM_B).next_term_after(date(2031, 2, 24)) is None


# --- nth_school_day ---------------------------------------------------------------------------------


def test_nth_school_day_looks_60_days_ahead_by_default() -> None:
    # Two one-day terms: Monday 4 March and the Friday 60 days later, then one 59 days later.
    far = calendar(term(MON_MAR_4, MON_MAR_4), term(date(2030, 5, 3), date(2030, 5, 3)))
    near = calendar(term(MON_MAR_4, MON_MAR_4), term(date(2030, 5, 2), date(2030, 5, 2)))
    assert far.nth_school_day(MON_MAR_4, 1) is None
    assert near.nth_school_day(MON_MAR_4, 1) == date(2030, 5, 2)


# --- is_school_day without a calendar ------------------------------------------------------------


def test_a_region_without_calendar_is_warned_about_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(service, "_warned_regions", set())
    cal = SchoolCalendar(school_id=5, region_id=77, official=PLAIN_2030)
    with caplog.at_level(logging.WARNING, logger="chatbot.calendar.service"):
        assert cal.is_school_day(date(2030, 3, 4)) is True
        assert cal.is_school_day(date(2030, 3, 9)) is False
    assert [
        (r.levelname, r.getMessage()) for r in caplog.records if r.name == "chatbot.calendar.service"
    ] == [("WARNING", "region 77 has no school calendar: using official working days")]


# --- events ---------------------------------------------------------------------------------------


def test_period_labels() -> None:
    assert period_label(term(MON_MAR_4, MON_MAR_4, "小学期")) == "学期 小学期"
    assert period_label(Period(CalendarKind.VACATION, "农忙假", MON_MAR_4, MON_MAR_4)) == "农忙假"
    assert period_label(term(MON_MAR_4, MON_MAR_4, "autumn")) == "秋季学期"


def test_official_events_name_make_up_days_with_an_empty_name() -> None:
    official = OfficialCalendar({2030: ImportedYear(2030, workdays=frozenset({date(2030, 3, 9)}))})
    assert official_events(official, date(2030, 3, 8), date(2030, 3, 10)) == [
        Event(date(2030, 3, 9), date(2030, 3, 9), "makeup", "")
    ]


def day_off(day: date, name: str) -> Period:
    return Period(CalendarKind.DAY_OFF, name, day, day)


def test_upcoming_events_start_within_120_days_by_default() -> None:
    today = date(2030, 1, 2)
    cal = calendar(day_off(today + timedelta(days=120), "in"), day_off(today + timedelta(days=121), "out"))
    assert upcoming_events(cal, today) == [Event(date(2030, 5, 2), date(2030, 5, 2), "day_off", "in")]


def test_upcoming_events_lists_eight_by_default() -> None:
    days = [date(2030, 3, d) for d in range(4, 13)]  # nine days off
    cal = calendar(*(day_off(d, f"off {d.day}") for d in days))
    assert upcoming_events(cal, date(2030, 3, 1)) == [
        Event(d, d, "day_off", f"off {d.day}") for d in days[:8]
    ]


def test_a_make_up_day_in_a_vacation_is_left_out_and_later_ones_are_kept() -> None:
    official = OfficialCalendar(
        {2030: ImportedYear(2030, workdays=frozenset({date(2030, 2, 16), date(2030, 3, 9)}))}
    )
    vacation = Period(CalendarKind.VACATION, "winter", date(2030, 2, 1), date(2030, 2, 24))
    spring = term(date(2030, 2, 25), date(2030, 7, 5))
    cal = calendar(spring, vacation, official=official)
    assert upcoming_events(cal, date(2030, 2, 10), days=30) == [
        Event(date(2030, 2, 1), date(2030, 2, 24), "vacation", "winter"),
        Event(date(2030, 2, 25), date(2030, 7, 5), "term", "spring"),
        Event(date(2030, 3, 9), date(2030, 3, 9), "makeup", ""),
    ]


def test_describe_days_off_and_extra_school_days() -> None:
    monday, wednesday, saturday = date(2030, 5, 6), date(2030, 5, 8), date(2030, 5, 11)
    assert describe(Event(monday, monday, "day_off", "运动会")) == "5月6日 周一：不上课"
    assert describe(Event(monday, monday, "day_off", "运动会", "")) == "5月6日 周一：不上课"
    assert describe(Event(monday, wednesday, "day_off", "运动会")) == "5月6日 周一 – 5月8日 周三：不上课"
    assert (
        describe(Event(monday, wednesday, "day_off", "统考", "全县统考"))
        == "5月6日 周一 – 5月8日 周三：不上课 (全县统考)"
    )
    assert describe(Event(saturday, saturday, "school_day", "开放日")) == "5月11日 周六：补课日，照常上课"
    assert (
        describe(Event(saturday, saturday, "school_day", "开放日", "补运动会"))
        == "5月11日 周六：补课日，照常上课 (补运动会)"
    )


# --- library_day ------------------------------------------------------------------------------------


def test_a_make_up_day_of_a_year_only_python_holidays_knows() -> None:
    # 2001 is before chinesecalendar; python-holidays carries its 调休 (Saturday 20 January).
    assert library_day(date(2001, 1, 20)) == OfficialDay(date(2001, 1, 20), True, None, True, Source.HOLIDAYS)
    assert library_day(date(2001, 1, 22)) == OfficialDay(
        date(2001, 1, 22), True, None, False, Source.HOLIDAYS
    )


def test_only_a_provisional_year_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    official_module._log_provisional.cache_clear()
    with caplog.at_level(logging.INFO, logger="chatbot.calendar.official"):
        library_day(date(2001, 3, 5))
        library_day(date(2027, 3, 1))
        library_day(date(2027, 3, 2))
    assert [r.getMessage() for r in caplog.records if r.name == "chatbot.calendar.official"] == [
        "official days of 2027 are provisional: holidays from python-holidays, make-up working days not yet "
        "published; import the State Council's arrangement with `bot.py calendar import`"
    ]
