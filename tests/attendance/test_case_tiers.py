"""Pins the dropout-risk rate tiers: a case (and home-visit tier) needs a rate strictly over 10% / 20%."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from chatbot.attendance.cases import home_visit_list
from chatbot.attendance.close import close_day
from chatbot.attendance.rules import rules_for
from chatbot.calendar.service import school_days
from chatbot.channels.console import ConsoleChannel
from db.models import Region, SchoolClass
from db.models.attendance import CaseTrigger, DropoutCase
from db.session import transaction
from tests.attendance.helpers import MONDAY, at, teacher_class, texts

# Judge rates from 5 roll-call days on, so 9, 10 and 11 days all count; the tiers stay the defaults.
MIN_DAYS = 5


@pytest.mark.parametrize(
    ("days", "absences", "tier"),
    [
        pytest.param(11, 1, None, id="1-of-11-9.1%-below-10%"),
        pytest.param(10, 1, None, id="1-of-10-exactly-10%"),
        pytest.param(9, 1, 1, id="1-of-9-11.1%-above-10%"),
        pytest.param(11, 2, 1, id="2-of-11-18.2%-below-20%"),
        pytest.param(10, 2, 1, id="2-of-10-exactly-20%"),
        pytest.param(9, 2, 2, id="2-of-9-22.2%-above-20%"),
    ],
)
def test_rate_tier_opens_only_strictly_over_the_threshold(
    console: ConsoleChannel,
    app,
    demo,
    days: int,
    absences: int,
    tier: int | None,  # type: ignore[no-untyped-def]
) -> None:
    console.external_id(demo.teacher)
    class_id, pupils = teacher_class(app, demo.teacher)
    pupil = pupils[3]  # roll number 4
    with transaction(app.session_factory) as s:
        klass = s.get(SchoolClass, class_id)
        assert klass is not None
        region = s.get(Region, klass.school.region_id)
        assert region is not None
        region.settings = {**(region.settings or {}), "attendance": {"rate_min_days": MIN_DAYS}}
        rules = rules_for(region.settings)
        assert rules.rate_tiers == (0.10, 0.20) and rules.rate_window >= days
        history = school_days(s, klass.school, MONDAY - timedelta(days=30), MONDAY)[-days:]
    assert len(history) == days and history[-1] == MONDAY
    # The pupil is absent on the last day (the close judges that day's absences) and, for two absences,
    # on the first day too: never consecutive, so only the rate can trigger. Others are only late.
    absent_on = {history[-1]} if absences == 1 else {history[0], history[-1]}
    for day in history:
        text = "缺 4" if day in absent_on else "迟到 5"
        assert "已记录" in texts(console.send(demo.teacher, text, now=at(day, 8)))

    with transaction(app.session_factory) as s:
        summary = close_day(s, MONDAY, at(MONDAY, 10, 30))
    with app.session_factory() as s:
        case = s.scalars(select(DropoutCase).where(DropoutCase.student_id == pupil)).one_or_none()
        visits = {entry.student_id: entry.reasons for entry in home_visit_list(s, class_id, MONDAY)}
    tier_reasons = [r for r in visits.get(pupil, ()) if r.startswith("absence_tier_")]

    if tier is None:
        assert case is None and summary.cases_opened == 0
        assert tier_reasons == []
    else:
        assert case is not None and summary.cases_opened == 1
        assert case.trigger == CaseTrigger.RATE
        assert case.detail == {
            "days": days,
            "absent": absences,
            "percent": round(100 * absences / days),
            "tier": tier,
        }
        assert tier_reasons == [f"absence_tier_{tier}"]
