"""The scheduler's daily slots against the demo county: the close at each school's cutoff (catching up
within the grace window), roll-call nudges before it, and case escalation from 08:00, each once."""

from __future__ import annotations

import logging
from datetime import time, timedelta

import pytest
from sqlalchemy import select, update

from chatbot.app import App
from chatbot.attendance.schedule import close_due_days, escalate, nudge_rollcalls
from chatbot.channels.console import ConsoleChannel
from db.models import Membership, Region, Role, School, Student
from db.models.attendance import DropoutCase
from db.models.calendar import ReminderStatus
from db.session import transaction
from tests.reminders.conftest import ledger, local, outbox

GRACE = timedelta(hours=6)
# The demo county: school 1 (红星小学) has classes 3年级1班..6年级1班, school 2 (东乡第一初级中学) 7年级1班,
# 8年级2班 and 9年级1班; each has a principal and one class teacher per class. Both cutoffs are 10:00.
SCHOOL_1_CLASSES = ["3年级1班", "4年级1班", "5年级1班", "6年级1班"]
SCHOOL_2_CLASSES = ["7年级1班", "8年级2班", "9年级1班"]


@pytest.fixture
def staff(app: App, console: ConsoleChannel) -> dict[str, int]:
    """Every principal and class teacher of the demo county with a console chat account.

    Returns the principals' person ids by school name.
    """
    with app.session_factory() as s:
        people = list(s.scalars(select(Membership.person_id)))
        principals = {
            name: person_id
            for name, person_id in s.execute(
                select(School.name, Membership.person_id).join(
                    Membership, (Membership.scope_id == School.id) & (Membership.role == Role.PRINCIPAL)
                )
            )
        }
    for person_id in people:
        console.external_id(person_id)
    return principals


def school_id(app: App, name: str) -> int:
    with app.session_factory() as s:
        return s.scalars(select(School.id).where(School.name == name)).one()


def set_cutoff(app: App, name: str, cutoff: time) -> None:
    with transaction(app.session_factory) as s:
        s.execute(update(School).where(School.name == name).values(rollcall_cutoff=cutoff))


def queued(app: App, kind: str) -> list[tuple[int | None, str]]:
    """(person, text) of every outbox row of one kind, in the order they were queued."""
    return [(r.person_id, r.text) for r in outbox(app) if r.kind == kind]


def missing_list(school: str, day: str, classes: list[str]) -> str:
    return f"{school}：{day}以下班级还没有点名：\n" + "\n".join(f"• {c}" for c in classes)


def closes(app: App) -> dict[str, ReminderStatus]:
    return {r.key: r.status for r in ledger(app, "close_day")}


# --- the daily close ---------------------------------------------------------------------------------


def test_first_close_runs_today_and_records_the_past_school_week_as_missed(
    app: App, staff: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    now = local(2026, 11, 23, 10, 5)
    report = close_due_days(app.session_factory, now, GRACE)
    assert (report.ran, report.missed) == (2, 10)
    # Seven days back: Monday 16 to Friday 20 were school days long past the grace window; the weekend
    # is not a school day, and Sunday 15 is more than a week back.
    statuses = closes(app)
    assert statuses == {
        **{
            f"close|s{school}|2026-11-{day}": ReminderStatus.MISSED
            for day in (16, 17, 18, 19, 20)
            for school in (1, 2)
        },
        "close|s1|2026-11-23": ReminderStatus.DONE,
        "close|s2|2026-11-23": ReminderStatus.DONE,
    }
    today = [r for r in ledger(app, "close_day") if r.occurrence == "2026-11-23"]
    assert [(r.recipient, r.due_at, r.created_at) for r in today] == [
        ("s1", local(2026, 11, 23, 10, 0), now),
        ("s2", local(2026, 11, 23, 10, 0), now),
    ]
    # Only today was closed: each principal gets today's list of classes without a roll-call.
    assert queued(app, "attendance.missing_rollcall") == [
        (staff["红星小学"], missing_list("红星小学", "11月23日 周一", SCHOOL_1_CLASSES)),
        (staff["东乡第一初级中学"], missing_list("东乡第一初级中学", "11月23日 周一", SCHOOL_2_CLASSES)),
    ]
    warnings = [
        r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "grace" in r.getMessage()
    ]
    assert warnings[0] == (
        "daily close of 2026-11-16 for 2 schools was due outside the grace window: recorded as missed "
        "(run the attendance close command by hand if still wanted)"
    )
    assert len(warnings) == 5
    # The next tick finds every slot taken.
    again = close_due_days(app.session_factory, now + timedelta(minutes=1), GRACE)
    assert (again.ran, again.missed) == (0, 0)
    assert len(outbox(app)) == 2 and closes(app) == statuses


def test_close_waits_for_each_school_cutoff(app: App, staff: dict[str, int]) -> None:
    set_cutoff(app, "东乡第一初级中学", time(10, 30))
    before = close_due_days(app.session_factory, local(2026, 11, 23, 9, 59), GRACE)
    assert (before.ran, before.missed) == (0, 10)
    at_first = close_due_days(app.session_factory, local(2026, 11, 23, 10, 0), GRACE)
    assert (at_first.ran, at_first.missed) == (1, 0)
    assert queued(app, "attendance.missing_rollcall") == [
        (staff["红星小学"], missing_list("红星小学", "11月23日 周一", SCHOOL_1_CLASSES)),
    ]
    between = close_due_days(app.session_factory, local(2026, 11, 23, 10, 29), GRACE)
    assert between.ran == 0
    at_second = close_due_days(app.session_factory, local(2026, 11, 23, 10, 30), GRACE)
    assert at_second.ran == 1
    assert [p for p, _text in queued(app, "attendance.missing_rollcall")] == [
        staff["红星小学"],
        staff["东乡第一初级中学"],
    ]
    today = {r.recipient: r.due_at for r in ledger(app, "close_day") if r.occurrence == "2026-11-23"}
    assert today == {"s1": local(2026, 11, 23, 10, 0), "s2": local(2026, 11, 23, 10, 30)}


def test_catching_up_closes_yesterday_within_the_grace_window_and_today(
    app: App, staff: dict[str, int]
) -> None:
    # Down since before Monday's cutoff; back at Tuesday's cutoff, exactly a grace window later.
    report = close_due_days(app.session_factory, local(2026, 11, 24, 10, 0), timedelta(hours=24))
    assert (report.ran, report.missed) == (4, 8)  # Monday and Tuesday run; 17 to 20 November are missed
    statuses = closes(app)
    assert [k for k, v in statuses.items() if v == ReminderStatus.DONE] == [
        "close|s1|2026-11-23",
        "close|s2|2026-11-23",
        "close|s1|2026-11-24",
        "close|s2|2026-11-24",
    ]
    assert "close|s1|2026-11-17" in statuses and "close|s1|2026-11-16" not in statuses
    assert queued(app, "attendance.missing_rollcall") == [
        (staff["红星小学"], missing_list("红星小学", "11月23日 周一", SCHOOL_1_CLASSES)),
        (staff["东乡第一初级中学"], missing_list("东乡第一初级中学", "11月23日 周一", SCHOOL_2_CLASSES)),
        (staff["红星小学"], missing_list("红星小学", "11月24日 周二", SCHOOL_1_CLASSES)),
        (staff["东乡第一初级中学"], missing_list("东乡第一初级中学", "11月24日 周二", SCHOOL_2_CLASSES)),
    ]


def test_todays_close_runs_however_late(app: App, staff: dict[str, int]) -> None:
    report = close_due_days(app.session_factory, local(2026, 11, 23, 17, 0), GRACE)
    assert report.ran == 2
    assert closes(app)["close|s1|2026-11-23"] == ReminderStatus.DONE
    assert len(queued(app, "attendance.missing_rollcall")) == 2


def test_a_close_missed_overnight_is_recorded_not_run(app: App, staff: dict[str, int]) -> None:
    # Tuesday 07:00 in Shanghai is still Monday in UTC: Monday is yesterday, 21 hours after its cutoff.
    report = close_due_days(app.session_factory, local(2026, 11, 24, 7, 0), GRACE)
    assert (report.ran, report.missed) == (0, 10)
    statuses = closes(app)
    assert statuses["close|s1|2026-11-23"] == ReminderStatus.MISSED
    assert "close|s1|2026-11-16" not in statuses  # a week back from Tuesday is the 17th
    assert outbox(app) == []


def test_a_school_missed_on_a_day_is_not_closed_with_a_later_one(app: App, staff: dict[str, int]) -> None:
    # Same day, two cutoffs: 红星小学's 08:00 lies outside the 17-hour window, 东乡's 10:00 inside it.
    set_cutoff(app, "红星小学", time(8, 0))
    report = close_due_days(app.session_factory, local(2026, 11, 24, 2, 0), timedelta(hours=17))
    assert report.ran == 1
    statuses = closes(app)
    assert statuses["close|s1|2026-11-23"] == ReminderStatus.MISSED
    assert statuses["close|s2|2026-11-23"] == ReminderStatus.DONE
    assert queued(app, "attendance.missing_rollcall") == [
        (staff["东乡第一初级中学"], missing_list("东乡第一初级中学", "11月23日 周一", SCHOOL_2_CLASSES)),
    ]


# --- roll-call nudges --------------------------------------------------------------------------------


def nudge_text(klass: str) -> str:
    return f"⏰ {klass}今天还没有点名，请在截止时间前完成。"


def test_nudges_open_thirty_minutes_before_the_cutoff_and_go_once(
    app: App, staff: dict[str, int], demo
) -> None:  # type: ignore[no-untyped-def]
    set_cutoff(app, "东乡第一初级中学", time(10, 30))
    assert nudge_rollcalls(app.session_factory, local(2026, 11, 23, 9, 29)).ran == 0
    opened = local(2026, 11, 23, 9, 30)
    report = nudge_rollcalls(app.session_factory, opened)
    assert report.ran == 1
    nudges = queued(app, "attendance.nudge")
    assert [text for _p, text in nudges] == [nudge_text(c) for c in SCHOOL_1_CLASSES]
    assert nudges[0] == (demo.teacher, nudge_text("3年级1班"))
    assert [(r.key, r.occurrence, r.recipient, r.status, r.due_at, r.created_at) for r in ledger(app)] == [
        ("nudge|s1|2026-11-23", "2026-11-23", "s1", ReminderStatus.DONE, opened, opened)
    ]
    assert ledger(app)[0].rule == "rollcall_nudge"
    assert nudge_rollcalls(app.session_factory, local(2026, 11, 23, 9, 45)).ran == 0
    # 东乡's window (10:00 to 10:30) was slept through: at its cutoff it is too late for a nudge.
    assert nudge_rollcalls(app.session_factory, local(2026, 11, 23, 10, 30)).ran == 0
    assert len(queued(app, "attendance.nudge")) == len(SCHOOL_1_CLASSES)
    assert [r.key for r in ledger(app)] == ["nudge|s1|2026-11-23"]


def test_nudges_follow_each_school_calendar_day(app: App, staff: dict[str, int]) -> None:
    # A 07:30 cutoff: the window opens at 07:00 in Shanghai, 23:00 the evening before in UTC.
    set_cutoff(app, "红星小学", time(7, 30))
    report = nudge_rollcalls(app.session_factory, local(2026, 11, 23, 7, 0))
    assert report.ran == 1
    assert [r.key for r in ledger(app)] == ["nudge|s1|2026-11-23"]
    assert [text for _p, text in queued(app, "attendance.nudge")] == [nudge_text(c) for c in SCHOOL_1_CLASSES]
    # Saturday is not a school day.
    assert nudge_rollcalls(app.session_factory, local(2026, 11, 21, 9, 40)).ran == 0
    assert [r.key for r in ledger(app)] == ["nudge|s1|2026-11-23"]


def test_nudge_rule_comes_from_each_school_region(app: App, staff: dict[str, int]) -> None:
    with transaction(app.session_factory) as s:
        demo_region = s.scalars(select(Region)).one()
        demo_region.settings = {"reminders": {"rollcall_nudge": {"minutes_before_cutoff": 60}}}
        quiet = Region(
            code="quiet",
            name="no nudges",
            timezone="Asia/Shanghai",
            aid_pack=demo_region.aid_pack,
            settings={"reminders": {"rollcall_nudge": {"enabled": False}}},
        )
        s.add(quiet)
        s.flush()
        s.execute(update(School).where(School.name == "红星小学").values(region_id=quiet.id))
    # 09:00 is an hour before the cutoff: inside 东乡's 60-minute window, and 红星 has nudges off.
    report = nudge_rollcalls(app.session_factory, local(2026, 11, 23, 9, 0))
    assert report.ran == 1
    assert [r.key for r in ledger(app)] == [f"nudge|s{school_id(app, '东乡第一初级中学')}|2026-11-23"]
    assert [text for _p, text in queued(app, "attendance.nudge")] == [nudge_text(c) for c in SCHOOL_2_CLASSES]


# --- case escalation ---------------------------------------------------------------------------------


def test_escalation_runs_once_a_day_from_eight_and_moves_a_silent_case(
    app: App, console: ConsoleChannel, staff: dict[str, int], demo
) -> None:  # type: ignore[no-untyped-def]
    # Roll number 3 of the demo class is absent Monday to Wednesday; the daily close opens a case.
    for day in (23, 24, 25):
        console.send(demo.teacher, "缺 3", now=local(2026, 11, day, 8, 0))
        close_due_days(app.session_factory, local(2026, 11, day, 10, 30), GRACE)
    with app.session_factory() as s:
        case = s.scalars(select(DropoutCase)).one()
        pupil = s.get(Student, case.student_id)
        assert pupil is not None
        name = pupil.name
    assert (case.level, case.assignee_id) == (0, demo.teacher)
    # Thursday 07:59 is before the slot (and Wednesday's slot, never run, is not run late the next day).
    early = escalate(app.session_factory, local(2026, 11, 26, 7, 59), "Asia/Shanghai")
    assert early.ran == 0
    assert ledger(app, "escalate") == []
    # Thursday: one school day of silence is not enough, but the slot is taken for the day.
    assert escalate(app.session_factory, local(2026, 11, 26, 8, 0), "Asia/Shanghai").ran == 1
    assert queued(app, "attendance.escalation") == []
    # Friday: not before 08:00; at 08:00 the case moves to the principal; later ticks do nothing.
    assert escalate(app.session_factory, local(2026, 11, 27, 7, 59), "Asia/Shanghai").ran == 0
    assert [r.key for r in ledger(app, "escalate")] == ["escalate|2026-11-26"]
    friday = local(2026, 11, 27, 8, 0)
    assert escalate(app.session_factory, friday, "Asia/Shanghai").ran == 1
    assert escalate(app.session_factory, local(2026, 11, 27, 15, 0), "Asia/Shanghai").ran == 0
    with app.session_factory() as s:
        case = s.scalars(select(DropoutCase)).one()
    assert (case.level, case.assignee_id) == (1, staff["红星小学"])
    alerts = queued(app, "attendance.escalation")
    assert alerts == [
        (
            staff["红星小学"],
            f"🔺 已上报校长：{name}（红星小学）辍学风险，连续3个上课日缺勤。未按时记录处理情况。",
        )
    ]
    row = ledger(app, "escalate")[-1]
    assert (row.key, row.occurrence, row.recipient, row.status, row.due_at, row.created_at) == (
        "escalate|2026-11-27",
        "2026-11-27",
        "*",
        ReminderStatus.DONE,
        friday,
        friday,
    )
