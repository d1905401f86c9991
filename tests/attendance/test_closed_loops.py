"""Regression tests for the loops between people: every confirmation is a fact in the database.

Each test names the review finding it pins (leave to nobody, two children's questions, closed
cases coming back, cut reasons, quiet hours, buttons lost in the scroll).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.attendance.close import close_day
from chatbot.channels.console import ConsoleChannel
from db.models import Enrolment, EnrolmentChange, Guardian, OutboxMessage, Student
from db.models.attendance import (
    AttendanceRecord,
    CaseStatus,
    DropoutCase,
    LeaveRequest,
    LeaveStatus,
    MarkSource,
)
from db.session import transaction
from tests.attendance.helpers import (
    MONDAY,
    absence,
    add_rollcalls,
    at,
    name_of,
    open_case,
    teacher_class,
    texts,
)
from tests.conftest import make_settings

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.conftest import DemoPeople

TUESDAY, WEDNESDAY = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)


def _children(app: App, parent: int) -> list[int]:
    with app.session_factory() as s:
        return sorted(s.scalars(select(Guardian.student_id).where(Guardian.person_id == parent)))


def _ask_leave(console: ConsoleChannel, parent: int, now: datetime) -> list[str]:
    """The demo parent asks sick leave for the first child, today to Wednesday, no reason."""
    replies = []
    for step in ("/leave", "1", "4", "11-23 11-25", "1", "1"):  # child 1, other days, sick, skip
        replies = console.send(parent, step, now=now)
    return [reply.text for reply in replies]


def test_pending_leave_to_an_unbound_teacher_is_not_a_lie_nor_a_dropout_risk(
    console: ConsoleChannel, app: App, demo: DemoPeople
) -> None:
    """Finding 1: "已发给班主任" to a teacher without a chat account, then absence questions and a
    case for a child on notified leave. Now: saved and said so, excused, on the teacher's /todo."""
    child = _children(app, demo.parent)[0]
    said = " ".join(_ask_leave(console, demo.parent, at(MONDAY, 7)))
    assert "已发给班主任" not in said and "已保存" in said
    with app.session_factory() as s:
        assert s.scalars(select(OutboxMessage)).all() == []  # nobody was reachable: nothing claimed
        assert s.scalars(select(LeaveRequest.status)).one() == LeaveStatus.PENDING
    for day in (MONDAY, TUESDAY, WEDNESDAY):
        with transaction(app.session_factory) as s:
            summary = close_day(s, day, at(day, 10, 30))
        assert (summary.absences_alerted, summary.guardian_questions, summary.cases_opened) == (0, 0, 0)
    with app.session_factory() as s:
        marks = {
            (r.day, r.source)
            for r in s.scalars(select(AttendanceRecord).where(AttendanceRecord.student_id == child))
        }
        assert marks == {
            (MONDAY, MarkSource.LEAVE),
            (TUESDAY, MarkSource.LEAVE),
            (WEDNESDAY, MarkSource.LEAVE),
        }
        assert s.scalars(select(DropoutCase)).all() == []
    # The teacher binds later: the request waits on /todo, whatever else was typed in between.
    console.send(demo.teacher, "/help", now=at(WEDNESDAY, 12))
    console.send(demo.teacher, "/whoami", now=at(WEDNESDAY, 12))
    todo = console.send(demo.teacher, "/todo", now=at(WEDNESDAY, 12, 1))
    assert name_of(app, child) in todo[0].text and "等您处理的请假申请" in todo[0].text
    approve = todo[0].flat_buttons()[0].payload
    assert "已批准" in texts(console.send(demo.teacher, payload=approve, now=at(WEDNESDAY, 12, 2)))
    assert "等您处理的请假申请" not in texts(console.send(demo.teacher, "/todo", now=at(WEDNESDAY, 12, 3)))


def test_a_refused_leave_makes_its_absences_unexplained_again(
    console: ConsoleChannel, app: App, demo: DemoPeople
) -> None:
    """Refusing takes a reason; days a roll-call saw the child away become unexplained absences."""
    console.external_id(demo.teacher)
    child = _children(app, demo.parent)[0]
    _ask_leave(console, demo.parent, at(MONDAY, 7))
    listing = console.send(demo.teacher, "/rollcall", now=at(MONDAY, 8))
    console.send(demo.teacher, payload=listing[-1].flat_buttons()[-1].payload, now=at(MONDAY, 8, 1))  # submit
    [request] = console.pushed(demo.teacher, now=at(MONDAY, 8, 2))
    refuse = request.flat_buttons()[1].payload
    assert "原因" in texts(console.send(demo.teacher, payload=refuse, now=at(MONDAY, 9)))
    assert "请输入原因" in texts(console.send(demo.teacher, "   ", now=at(MONDAY, 9, 1)))
    console.send(demo.teacher, "周一要考试，请到校", now=at(MONDAY, 9, 2))
    with app.session_factory() as s:
        leave = s.scalars(select(LeaveRequest)).one()
        assert (leave.status, leave.decision_note) == (LeaveStatus.REJECTED, "周一要考试，请到校")
        rows = {
            (r.day, r.status.value, r.source)
            for r in s.scalars(select(AttendanceRecord).where(AttendanceRecord.student_id == child))
        }
    # Monday had a roll-call that kept the leave mark: absent now. Tuesday and Wednesday: no record.
    assert rows == {(MONDAY, "absent", MarkSource.ROLLCALL)}
    with transaction(app.session_factory) as s:
        assert close_day(s, MONDAY, at(MONDAY, 10, 30)).absences_alerted == 1


@pytest.mark.parametrize(("length", "accepted"), [(1000, True), (1001, False), (1200, False)])
def test_a_long_leave_reason_is_refused_whole_never_cut(
    console: ConsoleChannel, app: App, demo: DemoPeople, length: int, accepted: bool
) -> None:
    """Finding 11: a 1,200-character reason was stored as 200 characters."""
    console.external_id(demo.teacher)
    for step in ("/leave", "1", "1", "1"):  # child 1, today, sick
        console.send(demo.parent, step, now=at(MONDAY, 7))
    reason = ("发" * (length - 1)) + "烧"
    reply = texts(console.send(demo.parent, reason, now=at(MONDAY, 7, 1)))
    with app.session_factory() as s:
        stored = s.scalars(select(LeaveRequest.reason)).all()
    if accepted:
        assert stored == [reason] and "已发给班主任" in reply
    else:
        assert stored == [] and f"共 {length} 个字" in reply and "1000" in reply


def test_two_childrens_questions_are_one_question_whose_numbers_name_each_child(
    console: ConsoleChannel, app: App, demo: DemoPeople
) -> None:
    """Finding 3: two questions numbered 1–4 each; "1" answered only the second child."""
    console.external_id(demo.teacher)
    console.external_id(demo.parent)
    first, second = _children(app, demo.parent)[:2]
    with transaction(app.session_factory) as s:
        for child in (first, second):
            pupil = s.get(Student, child)
            assert pupil is not None
            s.add(absence(pupil, MONDAY, None))
    with transaction(app.session_factory) as s:
        assert close_day(s, MONDAY, at(MONDAY, 10, 30)).guardian_questions == 1
    [question] = console.pushed(demo.parent, now=at(MONDAY, 10, 31))
    labels = [button.label for button in question.flat_buttons()]
    assert len(labels) == 8 and all(name_of(app, first) in label for label in labels[:4])
    assert all(name_of(app, second) in label for label in labels[4:])
    # "6" is the second child's second answer (事假); "1" is still the first child's (生病).
    second_answer = texts(console.send(demo.parent, "6", now=at(MONDAY, 10, 40)))
    first_answer = texts(console.send(demo.parent, "1", now=at(MONDAY, 10, 41)))
    assert name_of(app, second) in second_answer and "事假" in second_answer
    assert name_of(app, first) in first_answer and "生病" in first_answer
    with app.session_factory() as s:
        answers = {
            student: answer
            for student, answer in s.execute(
                select(AttendanceRecord.student_id, AttendanceRecord.guardian_answer)
            )
        }
    assert {k: v.value if v else None for k, v in answers.items()} == {first: "sick", second: "personal"}


def test_a_case_closed_as_suspended_takes_the_pupil_off_the_roll_and_stays_closed(
    console: ConsoleChannel, app: App, demo: DemoPeople
) -> None:
    """Finding 8: closing as 请假或休学 did not stop the alerts; the next absence opened case #2."""
    case_id, pupil = open_case(console, app, demo.teacher)
    reasons = console.send(demo.teacher, payload=f"csa:{case_id}:not_dropout", now=at(WEDNESDAY, 12))
    suspended = next(b for b in reasons[-1].flat_buttons() if "休学" in b.label)
    console.send(demo.teacher, payload=suspended.payload, now=at(WEDNESDAY, 12, 1))
    with app.session_factory() as s:
        student = s.get(Student, pupil)
        assert student is not None
        assert (student.enrolment, student.enrolment_since, student.active) == (
            Enrolment.SUSPENDED,
            WEDNESDAY,
            False,
        )
        change = s.scalars(select(EnrolmentChange)).one()
        assert (change.source, change.set_by, change.note) == (
            "case",
            demo.teacher,
            f"dropout_case:{case_id}:on_leave_or_suspended",
        )
    thursday = WEDNESDAY + timedelta(days=1)
    listing = console.send(demo.teacher, "/rollcall", now=at(thursday, 8))
    assert name_of(app, pupil) not in " ".join(b.label for b in listing[-1].flat_buttons())
    console.send(demo.teacher, payload=listing[-1].flat_buttons()[-1].payload, now=at(thursday, 8, 1))
    with transaction(app.session_factory) as s:
        summary = close_day(s, thursday, at(thursday, 10, 30))
    assert (summary.absences_alerted, summary.cases_opened) == (0, 0)
    with app.session_factory() as s:
        assert [c.status for c in s.scalars(select(DropoutCase))] == [CaseStatus.CLOSED]


def test_returned_sets_the_pupil_enrolled_again(console: ConsoleChannel, app: App, demo: DemoPeople) -> None:
    case_id, pupil = open_case(console, app, demo.teacher)
    console.send(demo.teacher, payload=f"csa:{case_id}:returned", now=at(WEDNESDAY, 12))
    with app.session_factory() as s:
        student = s.get(Student, pupil)
        assert student is not None and student.enrolment == Enrolment.ENROLLED and student.active
        assert s.scalars(select(EnrolmentChange)).all() == []  # already enrolled: nothing to record


@pytest.fixture
def quiet_app(app: App) -> Iterator[App]:
    """The demo database with quiet hours 20:00–08:00 instead of the default 21:00–07:00."""
    other = App(
        make_settings(app.settings.database_url, quiet_hours_start=time(20, 0), quiet_hours_end=time(8, 0)),
        clock=app.clock,
    )
    yield other
    other.engine.dispose()


def test_a_leave_request_at_night_waits_for_the_configured_quiet_hours(
    quiet_app: App, demo: DemoPeople
) -> None:
    """Finding 14: leave-request messages ignored QUIET_HOURS_START/END (a hard-coded 21:00–07:00)."""
    console = ConsoleChannel(quiet_app.session_factory, quiet_app.router, clock=quiet_app.clock)
    console.external_id(demo.teacher)
    evening = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)  # 20:30 in Shanghai: quiet only under 20:00–08:00
    for step in ("/leave", "1", "2", "1", "1"):  # child 1, tomorrow, sick, skip
        console.send(demo.parent, step, now=evening)
    with quiet_app.session_factory() as s:
        due = s.scalars(
            select(OutboxMessage.not_before).where(OutboxMessage.kind == "attendance.leave_request")
        ).all()
    assert due == [datetime(2026, 11, 24, 0, 0, tzinfo=UTC)]  # 08:00 the next morning, not 20:30 or 07:00


def test_todo_lists_unreachable_families_with_phones_for_their_class_teacher_only(
    console: ConsoleChannel, app: App, demo: DemoPeople
) -> None:
    console.external_id(demo.parent)
    _class, pupils = teacher_class(app, demo.teacher)
    todo = texts(console.send(demo.teacher, "/todo", now=at(MONDAY, 12)))
    assert "消息送不到的家庭" in todo and "电话" in todo
    listed = [p for p in pupils if name_of(app, p) in todo]
    assert listed and _children(app, demo.parent)[0] not in listed  # the bound parent's child is reachable
    principal = texts(console.send(demo.principal, "/todo", now=at(MONDAY, 12)))
    assert "消息送不到的家庭" not in principal
    assert "消息送不到的家庭" not in texts(console.send(demo.parent, "/todo", now=at(MONDAY, 12)))


@pytest.mark.parametrize(("source", "opens_a_case"), [(MarkSource.LEAVE, False), (MarkSource.ROLLCALL, True)])
def test_days_on_leave_do_not_count_towards_a_dropout_risk_rate(
    app: App, demo: DemoPeople, source: MarkSource, opens_a_case: bool
) -> None:
    """Ten roll-call days; three sick days and an unexplained absence today. Sick days a roll-call
    marked count (4/10 = 40%); the same days taken as leave do not (1/10 = 10%, not above 10%)."""
    class_id, pupils = teacher_class(app, demo.teacher)
    school_days = [
        MONDAY + timedelta(days=d) for d in range(14) if (MONDAY + timedelta(days=d)).weekday() < 5
    ]
    add_rollcalls(app, class_id, school_days)
    today = school_days[-1]
    with transaction(app.session_factory) as s:
        pupil = s.get(Student, pupils[4])
        assert pupil is not None
        for day in school_days[:3]:
            s.add(
                AttendanceRecord(
                    student_id=pupil.id,
                    class_id=class_id,
                    school_id=pupil.school_id,
                    day=day,
                    status="sick",
                    source=source,
                    at=at(day, 8),
                    alerted_at=at(day, 10, 30),
                )
            )
        s.add(absence(pupil, today, demo.teacher))
    with transaction(app.session_factory) as s:
        assert close_day(s, today, at(today, 10, 30)).cases_opened == int(opens_a_case)
