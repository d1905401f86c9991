"""Dropout-risk cases: three absent days open one, silence escalates it, a reason closes it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from chatbot.attendance.cases import escalate_cases, home_visit_list, never_returned
from chatbot.attendance.close import close_day
from chatbot.attendance.rules import rules_for
from chatbot.channels.console import ConsoleChannel
from db.models import Region
from db.models.attendance import CaseEvent, CaseEventKind, CaseStatus, DropoutCase, NotDropoutReason
from db.session import transaction
from tests.attendance.helpers import MONDAY, absent_three_days, at, name_of, teacher_class, texts

TUESDAY, WEDNESDAY, THURSDAY, FRIDAY = (MONDAY + timedelta(days=n) for n in range(1, 5))
NEXT_MONDAY, NEXT_TUESDAY = MONDAY + timedelta(days=7), MONDAY + timedelta(days=8)


def _case(app, student_id: int) -> DropoutCase:  # type: ignore[no-untyped-def]
    with app.session_factory() as s:
        return s.scalars(select(DropoutCase).where(DropoutCase.student_id == student_id)).one()


def test_three_absent_days_open_a_case_for_the_class_teacher(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    console.external_id(demo.teacher)
    for day in (MONDAY, TUESDAY):
        console.send(demo.teacher, "缺 3", now=at(day, 8))
        with transaction(app.session_factory) as s:
            assert close_day(s, day, at(day, 10, 30)).cases_opened == 0
    console.send(demo.teacher, "缺 3", now=at(WEDNESDAY, 8))
    with transaction(app.session_factory) as s:
        assert close_day(s, WEDNESDAY, at(WEDNESDAY, 10, 30)).cases_opened == 1
    pupil = teacher_class(app, demo.teacher)[1][2]
    case = _case(app, pupil)
    assert case.status == CaseStatus.OPEN and case.level == 0 and case.assignee_id == demo.teacher
    pushed = console.pushed(demo.teacher, now=at(WEDNESDAY, 10, 31))
    alert = next(r for r in pushed if "辍学风险" in r.text)
    assert name_of(app, pupil) in alert.text and "连续3个上课日" in alert.text
    # The next day's close does not open a second case for the same pupil.
    console.send(demo.teacher, "缺 3", now=at(THURSDAY, 8))
    with transaction(app.session_factory) as s:
        assert close_day(s, THURSDAY, at(THURSDAY, 10, 30)).cases_opened == 0


def test_a_case_without_action_escalates_to_principal_then_county(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    for person in (demo.teacher, demo.principal, demo.admin):
        console.external_id(person)
    pupil = absent_three_days(console, app, demo.teacher)
    with transaction(app.session_factory) as s:
        assert escalate_cases(s, THURSDAY, at(THURSDAY, 8)) == 0  # one school day of silence
        assert escalate_cases(s, FRIDAY, at(FRIDAY, 8)) == 1  # two
        assert escalate_cases(s, FRIDAY, at(FRIDAY, 9)) == 0  # idempotent within the day
    assert _case(app, pupil).level == 1 and _case(app, pupil).assignee_id == demo.principal
    principal = console.pushed(demo.principal, now=at(FRIDAY, 8, 1))
    assert any("已上报校长" in r.text and name_of(app, pupil) in r.text for r in principal)
    with transaction(app.session_factory) as s:
        # Saturday and Sunday are not school days: still only one day of silence on Monday.
        assert escalate_cases(s, NEXT_MONDAY, at(NEXT_MONDAY, 8)) == 0
        assert escalate_cases(s, NEXT_TUESDAY, at(NEXT_TUESDAY, 8)) == 1
    assert _case(app, pupil).level == 2
    county = console.pushed(demo.admin, now=at(NEXT_TUESDAY, 8, 1))
    assert any("县教育局" in r.text for r in county)


def test_logged_action_resets_the_clock_and_a_reason_closes_the_case(
    console: ConsoleChannel, app, demo
) -> None:  # type: ignore[no-untyped-def]
    console.external_id(demo.teacher)
    pupil = absent_three_days(console, app, demo.teacher)
    case_id = _case(app, pupil).id
    listing = console.send(demo.teacher, "/cases", now=at(THURSDAY, 9))
    assert name_of(app, pupil) in listing[-1].flat_buttons()[0].label
    card = console.send(demo.teacher, "1", now=at(THURSDAY, 9))
    labels = [b.label for b in card[-1].flat_buttons()]
    assert "📞 已联系家长" in labels
    console.send(demo.teacher, "1", now=at(THURSDAY, 9, 1))  # contacted guardian
    with transaction(app.session_factory) as s:
        assert escalate_cases(s, FRIDAY, at(FRIDAY, 8)) == 0  # the action reset the clock
    # Home visit with a note, through the dialog step.
    console.send(demo.teacher, payload=f"csa:{case_id}:home_visit", now=at(FRIDAY, 16))
    logged = console.send(demo.teacher, "见到奶奶,孩子在家帮忙放羊,答应周一返校", now=at(FRIDAY, 16, 5))
    assert "已记录：家访" in texts(logged)
    reasons = console.send(demo.teacher, payload=f"csa:{case_id}:not_dropout", now=at(FRIDAY, 16, 6))
    assert len(reasons[-1].flat_buttons()) == 7
    closed = console.send(demo.teacher, "7", now=at(FRIDAY, 16, 7))  # registered here, studying elsewhere
    assert "结案" in texts(closed)
    case = _case(app, pupil)
    assert case.status == CaseStatus.CLOSED and case.not_dropout_reason == NotDropoutReason.STUDYING_ELSEWHERE
    with app.session_factory() as s:
        kinds = list(
            s.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
        )
        assert kinds == [
            CaseEventKind.OPENED,
            CaseEventKind.CONTACTED,
            CaseEventKind.HOME_VISIT,
            CaseEventKind.NOT_DROPOUT,
        ]
        actors = set(s.scalars(select(CaseEvent.actor_id).where(CaseEvent.kind != CaseEventKind.OPENED)))
        assert actors == {demo.teacher}
    assert "已经结案" in texts(
        console.send(demo.teacher, payload=f"csa:{case_id}:returned", now=at(FRIDAY, 17))
    )


def test_guardians_and_strangers_cannot_see_or_act_on_cases(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    pupil = absent_three_days(console, app, demo.teacher)
    case_id = _case(app, pupil).id
    for outsider in (demo.parent, "stranger"):
        refusal = texts(console.send(outsider, payload=f"cso:{case_id}"))
        assert "权限" in refusal or "绑定" in refusal
        assert name_of(app, pupil) not in refusal
        console.send(outsider, payload=f"csa:{case_id}:returned")
    assert _case(app, pupil).status == CaseStatus.OPEN
    with app.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id)) == 1


def test_rate_tier_and_home_visit_list(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    """Absent 3 of 12 roll-call days (25%, never 3 in a row) opens a tier-2 rate case."""
    from chatbot.calendar.service import school_days
    from db.models import SchoolClass

    class_id, pupils = teacher_class(app, demo.teacher)
    with app.session_factory() as s:
        klass = s.get(SchoolClass, class_id)
        assert klass is not None
        days = school_days(s, klass.school, MONDAY - timedelta(days=21), MONDAY)[-12:]
    for index, day in enumerate(days):
        text = "缺 4" if index in (2, 6, 11) else "迟到 5"
        console.send(demo.teacher, text, now=at(day, 8))
        with transaction(app.session_factory) as s:
            close_day(s, day, at(day, 10, 30))
    case = _case(app, pupils[3])
    assert case.trigger == "rate" and case.detail["tier"] == 2 and case.detail["percent"] == 25
    with app.session_factory() as s:
        visits = {entry.student_id: entry.reasons for entry in home_visit_list(s, class_id, MONDAY)}
        assert "open_case" in visits[pupils[3]] and "absence_tier_2" in visits[pupils[3]]
        assert pupils[4] not in visits or visits[pupils[4]] == ("registered_poor",)
        missing = never_returned(s, class_id, days[-1], MONDAY)
        assert [p.id for p in missing] == [pupils[3]]
        assert never_returned(s, class_id, days[-2], MONDAY) == []


def test_region_rules_are_read_from_settings(app) -> None:  # type: ignore[no-untyped-def]
    rules = rules_for(
        {"attendance": {"consecutive_days": 5, "rate_tiers": [0.2, 0.05], "escalate_after": "x"}}
    )
    assert rules.consecutive_days == 5 and rules.rate_tiers == (0.05, 0.2) and rules.escalate_after == 2
    with transaction(app.session_factory) as s:
        region = s.scalars(select(Region)).first()
        assert region is not None
        region.settings = {"attendance": {"consecutive_days": 2}}
    assert rules_for(region.settings).consecutive_days == 2
