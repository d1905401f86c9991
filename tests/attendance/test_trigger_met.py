"""The trigger rule on its own, without a database: a streak of absences first, else the rate tiers."""

from __future__ import annotations

from datetime import date, timedelta

from chatbot.attendance.case_triggers import _trigger_met
from chatbot.attendance.rules import Rules
from db.models.attendance import CaseTrigger, Mark

RULES = Rules(consecutive_days=3, rate_tiers=(0.10, 0.20), rate_window=10, rate_min_days=5)
# The class's roll-call days, newest first, as find_triggers hands them over.
DAYS = [date(2026, 11, 30) - timedelta(days=n) for n in range(12)]


def absent_on(*indexes: int, mark: Mark = Mark.ABSENT) -> dict[date, Mark]:
    return {DAYS[i]: mark for i in indexes}


def test_three_newest_days_absent_is_a_streak_even_when_the_rate_is_high_too() -> None:
    assert _trigger_met(Mark.ABSENT, DAYS, absent_on(0, 1, 2, 5, 6), RULES) == (
        CaseTrigger.CONSECUTIVE,
        {"days": 3},
    )


def test_a_streak_needs_unexcused_absences_today_and_on_each_day() -> None:
    sick_today = _trigger_met(Mark.SICK, DAYS, {**absent_on(1, 2), **absent_on(0, mark=Mark.SICK)}, RULES)
    assert sick_today == (CaseTrigger.RATE, {"days": 10, "absent": 3, "percent": 30, "tier": 2})
    sick_between = {**absent_on(0, 2), **absent_on(1, mark=Mark.SICK)}
    assert _trigger_met(Mark.ABSENT, DAYS, sick_between, RULES) == (
        CaseTrigger.RATE,
        {"days": 10, "absent": 3, "percent": 30, "tier": 2},
    )


def test_a_streak_needs_as_many_roll_call_days_as_it_counts() -> None:
    assert _trigger_met(Mark.ABSENT, DAYS[:2], absent_on(0, 1), RULES) is None


def test_the_rate_counts_the_window_of_newest_days_only() -> None:
    # Absences on days 10 and 11 fall outside the 10-day window: 1 of 10 is not over 10%.
    assert _trigger_met(Mark.ABSENT, DAYS, absent_on(0, 10, 11), RULES) is None
    assert _trigger_met(Mark.ABSENT, DAYS, absent_on(0, 4), RULES) == (
        CaseTrigger.RATE,
        {"days": 10, "absent": 2, "percent": 20, "tier": 1},
    )


def test_no_rate_is_judged_on_fewer_than_the_minimum_days() -> None:
    assert _trigger_met(Mark.ABSENT, DAYS[:4], absent_on(0, 2), RULES) is None
    assert _trigger_met(Mark.ABSENT, DAYS[:5], absent_on(0, 2), RULES) == (
        CaseTrigger.RATE,
        {"days": 5, "absent": 2, "percent": 40, "tier": 2},
    )
