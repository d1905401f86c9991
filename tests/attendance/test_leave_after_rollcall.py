"""Pins that sick leave approved after a 缺 roll-call excuses the day, so the daily close alerts nobody."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from chatbot.attendance.close import close_day
from chatbot.channels.console import ConsoleChannel
from db.models import OutboxMessage
from db.models.attendance import AttendanceRecord, LeaveRequest, LeaveStatus, Mark, MarkSource
from db.session import transaction
from tests.attendance.helpers import MONDAY, at, guardian_of, teacher_class, texts


def _mark_absent_by_quick_text(console: ConsoleChannel, teacher: int, class_id: int) -> None:
    reply = console.send(teacher, "缺 1", now=at(MONDAY, 8))
    assert "1." in texts(reply)


def _mark_absent_on_the_list(console: ConsoleChannel, teacher: int, class_id: int) -> None:
    listing = console.send(teacher, "/rollcall", now=at(MONDAY, 8))
    assert "✅" in listing[-1].flat_buttons()[0].label
    tapped = console.send(teacher, "1", now=at(MONDAY, 8, 1))  # present → absent
    assert "❌" in tapped[-1].flat_buttons()[0].label
    done = console.send(teacher, payload=f"rcs:{class_id}", now=at(MONDAY, 8, 2))
    assert "点名已记录" in texts(done)


@pytest.mark.parametrize(
    "mark_absent",
    [_mark_absent_by_quick_text, _mark_absent_on_the_list],
    ids=["quick-text", "roll-call-list"],
)
def test_sick_leave_approved_after_rollcall_absence_excuses_the_day_and_close_stays_silent(
    console: ConsoleChannel,
    app,
    demo,
    mark_absent: Callable[[ConsoleChannel, int, int], None],  # type: ignore[no-untyped-def]
) -> None:
    console.external_id(demo.teacher)
    class_id, pupils = teacher_class(app, demo.teacher)
    child = pupils[0]  # the demo parent's child in this class is roll number 1
    assert guardian_of(app, child) == demo.parent

    # 08:00 roll-call: the child is 缺 (absent, unexplained).
    mark_absent(console, demo.teacher, class_id)
    with app.session_factory() as s:
        record = s.scalars(select(AttendanceRecord).where(AttendanceRecord.student_id == child)).one()
        assert (record.status, record.source) == (Mark.ABSENT, MarkSource.ROLLCALL)

    # 08:40 the parent asks for sick leave for today; 09:15 the class teacher approves it.
    console.send(demo.parent, "孩子今天生病了", now=at(MONDAY, 8, 40))
    console.send(demo.parent, "1", now=at(MONDAY, 8, 41))  # the child in 红星小学
    sent = console.send(demo.parent, "发烧", now=at(MONDAY, 8, 42))
    assert "已发给班主任" in texts(sent)
    [request] = console.pushed(demo.teacher, now=at(MONDAY, 9))
    approve = request.flat_buttons()[0]
    decided = console.send(demo.teacher, payload=approve.payload, now=at(MONDAY, 9, 15))
    assert "已批准" in texts(decided)

    with app.session_factory() as s:
        leave = s.scalars(select(LeaveRequest)).one()
        assert (leave.student_id, leave.status) == (child, LeaveStatus.APPROVED)
        record = s.scalars(select(AttendanceRecord).where(AttendanceRecord.student_id == child)).one()
        assert (record.day, record.status, record.source, record.leave_id) == (
            MONDAY,
            Mark.SICK,
            MarkSource.LEAVE,
            leave.id,
        )

    # The roll-call list now shows the child on sick leave, not absent.
    listing = console.send(demo.teacher, "/rollcall", now=at(MONDAY, 9, 30))
    first = listing[-1].flat_buttons()[0].label
    assert "🤒" in first and "❌" not in first

    # 10:30 daily close: nothing to alert about in this class.
    with transaction(app.session_factory) as s:
        summary = close_day(s, MONDAY, at(MONDAY, 10, 30))
    assert (summary.absences_alerted, summary.teacher_alerts, summary.guardian_questions) == (0, 0, 0)
    with app.session_factory() as s:
        kinds = set(
            s.scalars(
                select(OutboxMessage.kind).where(
                    OutboxMessage.person_id.in_([demo.teacher, demo.parent]),
                    OutboxMessage.created_at >= at(MONDAY, 10, 30),
                )
            )
        )
    assert kinds.isdisjoint({"attendance.absence_alert", "attendance.absence_question"}), kinds
    # The parent's chat holds the approval only, no "why is your child not at school?" question.
    told = console.pushed(demo.parent, now=at(MONDAY, 10, 31))
    assert [("已批准" in r.text, "是什么原因" in r.text) for r in told] == [(True, False)]


def _approve_sick_leave_for_child_1(console: ConsoleChannel, parent: int, teacher: int, minute: int) -> None:
    """The demo parent asks for sick leave today and the class teacher approves it at 08:`minute`."""
    console.send(parent, "孩子今天生病了", now=at(MONDAY, 8, minute - 3))
    console.send(parent, "1", now=at(MONDAY, 8, minute - 2))
    assert "已发给班主任" in texts(console.send(parent, "发烧", now=at(MONDAY, 8, minute - 1)))
    [request] = console.pushed(teacher, now=at(MONDAY, 8, minute - 1))
    decided = console.send(teacher, payload=request.flat_buttons()[0].payload, now=at(MONDAY, 8, minute))
    assert "已批准" in texts(decided)


@pytest.mark.parametrize(
    ("taps_on_child", "pupil_2_taps", "child_after", "pupil_2_after"),
    [
        (0, 1, Mark.SICK, Mark.ABSENT),  # untouched child: the leave approved meanwhile stays
        (1, 0, Mark.SICK, None),  # tapped ❌ before the approval: the leave explains the absence
        (5, 0, Mark.SICK, None),  # tapped round to present and back: no change from the list
        (4, 0, Mark.LATE, None),  # she marked the child late: the child came, her mark wins
    ],
    ids=["untouched", "tapped-absent", "tapped-round", "tapped-late"],
)
def test_a_list_opened_before_a_leave_was_approved_does_not_undo_it(
    console: ConsoleChannel,
    app,  # type: ignore[no-untyped-def]
    demo,  # type: ignore[no-untyped-def]
    taps_on_child: int,
    pupil_2_taps: int,
    child_after: Mark,
    pupil_2_after: Mark | None,
) -> None:
    console.external_id(demo.teacher)
    class_id, pupils = teacher_class(app, demo.teacher)
    child, other = pupils[0], pupils[1]
    console.send(demo.teacher, "/rollcall", now=at(MONDAY, 8))
    for _ in range(taps_on_child):
        console.send(demo.teacher, "1", now=at(MONDAY, 8, 1))
    for _ in range(pupil_2_taps):
        console.send(demo.teacher, "2", now=at(MONDAY, 8, 1))
    # While the list is open on her phone, she approves a parent's sick leave in another chat.
    _approve_sick_leave_for_child_1(console, demo.parent, demo.teacher, minute=6)
    done = console.send(demo.teacher, payload=f"rcs:{class_id}", now=at(MONDAY, 8, 10))
    assert "点名已记录" in texts(done)
    with app.session_factory() as s:
        marks = {
            r.student_id: r.status
            for r in s.scalars(select(AttendanceRecord).where(AttendanceRecord.class_id == class_id))
        }
    assert (marks.get(child), marks.get(other)) == (child_after, pupil_2_after)
    summary_text = texts(done)
    assert ("病假 1" in summary_text) == (child_after == Mark.SICK)  # the summary counts what is stored


def test_quick_text_absence_for_a_pupil_on_approved_leave_keeps_the_leave_and_says_so(
    console: ConsoleChannel,
    app,  # type: ignore[no-untyped-def]
    demo,  # type: ignore[no-untyped-def]
) -> None:
    console.external_id(demo.teacher)
    class_id, pupils = teacher_class(app, demo.teacher)
    _approve_sick_leave_for_child_1(console, demo.parent, demo.teacher, minute=6)
    reply = texts(console.send(demo.teacher, "缺 1 2", now=at(MONDAY, 8, 10)))
    lines = reply.splitlines()
    assert lines[0].startswith("已记录3年级1班：缺勤：2.") and "1." not in lines[0]
    assert lines[1].startswith("未记为缺勤，已批准的请假保持不变：1.")
    with app.session_factory() as s:
        marks = {
            r.student_id: r.status
            for r in s.scalars(select(AttendanceRecord).where(AttendanceRecord.class_id == class_id))
        }
    assert marks == {pupils[0]: Mark.SICK, pupils[1]: Mark.ABSENT}
