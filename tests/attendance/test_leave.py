"""Leave requests: a guardian asks, the class teacher decides, the days become excused."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from chatbot.attendance.close import close_day
from chatbot.attendance.leave import parse_dates
from chatbot.channels.console import ConsoleChannel
from db.models.attendance import AttendanceRecord, LeaveRequest, LeaveStatus, Mark, MarkSource
from db.session import transaction
from tests.attendance.helpers import MONDAY, at, teacher_class, texts

TUESDAY, WEDNESDAY = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("11-25", (date(2026, 11, 25), date(2026, 11, 25))),
        ("11月25日到11月27日", (date(2026, 11, 25), date(2026, 11, 27))),
        ("2026-12-01 2026-12-02", (date(2026, 12, 1), date(2026, 12, 2))),
        ("26号", (date(2026, 11, 26), date(2026, 11, 26))),
        ("1-5", (date(2027, 1, 5), date(2027, 1, 5))),
        ("13-40", None),
        ("明后天", None),
    ],
)
def test_dates_typed_by_parents(text: str, expected: tuple[date, date] | None) -> None:
    assert parse_dates(text, MONDAY) == expected


def _child_in_teacher_class(app, demo) -> int:  # type: ignore[no-untyped-def]
    return teacher_class(app, demo.teacher)[1][0]  # the demo parent's child is roll number 1


def test_leave_request_approved_marks_days_excused(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    console.external_id(demo.teacher)
    child = _child_in_teacher_class(app, demo)
    first = console.send(demo.parent, "孩子今天生病了", now=at(MONDAY, 7, 10))
    assert "哪个孩子" in texts(first)  # the demo parent has two children
    labels = [b.label for b in first[-1].flat_buttons()]
    console.send(demo.parent, "1", now=at(MONDAY, 7, 11))
    # "today" and "sick" came from the text: only the optional reason is left.
    sent = console.send(demo.parent, "发烧38度", now=at(MONDAY, 7, 12))
    assert "已发给班主任" in texts(sent) and labels[0] in texts(sent)
    request = console.pushed(demo.teacher, now=at(MONDAY, 7, 13))
    assert len(request) == 1 and "发烧38度" in request[0].text and "病假" in request[0].text
    decided = console.send(demo.teacher, "1", now=at(MONDAY, 7, 20))  # Approve
    assert "已批准" in texts(decided) and decided[-1].edit
    told = console.pushed(demo.parent, now=at(MONDAY, 7, 21))
    assert len(told) == 1 and "已批准" in told[0].text
    with app.session_factory() as s:
        leave = s.scalars(select(LeaveRequest)).one()
        assert leave.status == LeaveStatus.APPROVED and leave.decided_by == demo.teacher
        record = s.scalars(select(AttendanceRecord)).one()
        assert (record.student_id, record.day, record.status, record.source) == (
            child,
            MONDAY,
            Mark.SICK,
            MarkSource.LEAVE,
        )
    # The roll-call shows the child pre-marked, and the close asks nobody about an excused pupil.
    listing = console.send(demo.teacher, "/rollcall", now=at(MONDAY, 8))
    assert "🤒" in listing[-1].flat_buttons()[0].label
    console.send(demo.teacher, payload=listing[-1].flat_buttons()[-1].payload, now=at(MONDAY, 8, 1))
    with transaction(app.session_factory) as s:
        assert close_day(s, MONDAY, at(MONDAY, 10, 30)).absences_alerted == 0
    # Pressing approve again changes nothing.
    assert "已经处理过" in texts(console.send(demo.teacher, payload=request[0].flat_buttons()[1].payload))


def test_leave_for_other_days_rejected(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    console.external_id(demo.teacher)
    console.send(demo.parent, "/leave", now=at(MONDAY, 18))
    console.send(demo.parent, "1", now=at(MONDAY, 18))  # first child
    asked = console.send(demo.parent, "4", now=at(MONDAY, 18))  # other days…
    assert "11-25" in texts(asked)
    assert "看不懂" in texts(console.send(demo.parent, "下周吧", now=at(MONDAY, 18)))
    console.send(demo.parent, "11-24 11-25", now=at(MONDAY, 18))
    console.send(demo.parent, "2", now=at(MONDAY, 18))  # personal leave
    sent = console.send(demo.parent, "1", now=at(MONDAY, 18))  # skip the reason
    assert "事假" in texts(sent)
    request = console.pushed(demo.teacher, now=at(MONDAY, 18, 1))
    assert len(request) == 1
    asked_why = console.send(demo.teacher, "2", now=at(MONDAY, 18, 5))  # refuse: the reason is asked
    assert "原因" in texts(asked_why) and console.pushed(demo.parent, now=at(MONDAY, 18, 5)) == []
    with app.session_factory() as s:  # still pending, its days excused until decided
        assert s.scalars(select(LeaveRequest.status)).one() == LeaveStatus.PENDING
        assert {r.source for r in s.scalars(select(AttendanceRecord))} == {MarkSource.LEAVE}
    done = console.send(demo.teacher, "请家长先来学校说明", now=at(MONDAY, 18, 6))
    assert "已拒绝" in texts(done) and "已通知家长" in texts(done)
    told = console.pushed(demo.parent, now=at(MONDAY, 18, 7))
    assert "没有批准" in told[0].text and "请家长先来学校说明" in told[0].text
    with app.session_factory() as s:
        assert s.scalars(select(LeaveRequest.status)).one() == LeaveStatus.REJECTED
        assert s.scalars(select(AttendanceRecord)).all() == []


def test_only_guardians_request_and_only_school_staff_decide(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    console.external_id(demo.teacher)
    assert "权限" in texts(console.send(demo.teacher, "/leave", now=at(MONDAY, 7)))
    console.send(demo.parent, "请假", now=at(MONDAY, 7))
    console.send(demo.parent, "1", now=at(MONDAY, 7))
    console.send(demo.parent, "1", now=at(MONDAY, 7))  # today
    console.send(demo.parent, "1", now=at(MONDAY, 7))  # sick
    console.send(demo.parent, "1", now=at(MONDAY, 7))  # skip reason
    with app.session_factory() as s:
        leave_id = s.scalars(select(LeaveRequest.id)).one()
    for intruder in (demo.parent, demo.admin):
        assert "权限" in texts(console.send(intruder, payload=f"lva:{leave_id}:1", now=at(MONDAY, 7, 5)))
    # A forged child id in the dialog is refused.
    console.send(demo.parent, "/leave", now=at(MONDAY, 7, 6))
    assert "权限" in texts(console.send(demo.parent, payload="lvk:3", now=at(MONDAY, 7, 6)))
    with app.session_factory() as s:
        assert s.scalars(select(LeaveRequest.status)).one() == LeaveStatus.PENDING


def test_leave_for_a_weekend_is_not_needed(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    console.send(demo.parent, "/leave", now=at(MONDAY, 18))
    console.send(demo.parent, "1", now=at(MONDAY, 18))
    console.send(demo.parent, "4", now=at(MONDAY, 18))  # other days…
    reply = console.send(demo.parent, "11-28 11-29", now=at(MONDAY, 18))
    assert "不需要请假" in texts(reply)
    with app.session_factory() as s:
        assert s.scalars(select(LeaveRequest)).all() == []
