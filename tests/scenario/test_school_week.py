"""A school week through the console: parent, class teacher, principal and county admin, five days.

Every step checks that what the bot said is a fact in the database: "sent to the class teacher"
only with a new outbox row to that teacher, "the guardian is told" only with a row to the
guardian, a roll-call confirmation only with that class's roll-call for that day, and so on
(`Claims`). The week covers leave given before the absence, a class teacher without a chat
account, a guardian without one, two children with questions open at once, a roll-call form left
open overnight, and a case closed as 休学. Runs on SQLite and, with TEST_DATABASE_URL, PostgreSQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from chatbot.app import App
from chatbot.attendance.close import close_day
from chatbot.channels.console import ConsoleChannel
from chatbot.core.messages import Reply
from db.models import Enrolment, Guardian, Membership, OutboxMessage, Role, SchoolClass, ScopeType, Student
from db.models.attendance import (
    AttendanceRecord,
    CaseStatus,
    DropoutCase,
    LeaveRequest,
    LeaveStatus,
    RollCall,
)
from db.session import transaction
from tests.attendance.helpers import MONDAY, at, teacher_class
from tests.conftest import DemoPeople

DAYS = [MONDAY + timedelta(days=n) for n in range(5)]  # 2026-11-23 … 11-27, Monday to Friday
MON, TUE, WED, THU, FRI = DAYS


@dataclass(frozen=True)
class Pupil:
    """The pupil a step is about: whose class teacher and school a confirmation must have reached."""

    id: int
    school_id: int
    class_teacher_id: int | None


@dataclass
class Claims:
    """Checks each text the bot shows against the outbox rows and roll-calls written meanwhile."""

    app: App
    seen_outbox: int = 0
    checked: list[str] = field(default_factory=list)

    def new_rows(self) -> list[OutboxMessage]:
        with self.app.session_factory() as s:
            rows = list(s.scalars(select(OutboxMessage).where(OutboxMessage.id > self.seen_outbox)))
            self.seen_outbox = s.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0))) or 0
            return rows

    def check(self, replies: list[Reply], pupil: Pupil | None, now: datetime) -> None:
        text = "\n".join(reply.text for reply in replies)
        rows = self.new_rows()
        to = {(row.kind, row.person_id) for row in rows}
        kinds = {row.kind for row in rows}
        if "已发给班主任" in text:
            assert pupil is not None and ("attendance.leave_request", pupil.class_teacher_id) in to
            self.checked.append("sent to the class teacher")
        if "已发给校长" in text:
            assert pupil is not None
            principals = self._principals(pupil.school_id)
            assert any(("attendance.leave_request", p) in to for p in principals)
            assert ("attendance.leave_request", pupil.class_teacher_id) not in to
            self.checked.append("sent to the principal")
        if "已保存" in text and "请假" in text:
            assert "attendance.leave_request" not in kinds
            self.checked.append("saved, reached nobody")
        if "已通知家长" in text:
            assert "attendance.leave_decision" in kinds
            self.checked.append("the guardian is told")
        if "家长无法在聊天中收到通知" in text:
            assert "attendance.leave_decision" not in kinds
            self.checked.append("the guardian cannot be reached")
        if "已告诉班主任" in text:
            assert pupil is not None and ("attendance.absence_answer", pupil.class_teacher_id) in to
            self.checked.append("the class teacher was told the answer")
        for klass, day in re.findall(r"点名已(?:记录|更新)：(\d+年级\d+班)，(\d+月\d+日)", text):
            self._rollcall_written(klass, day, now)
            self.checked.append(f"roll-call {klass} {day}")

    def _principals(self, school_id: int) -> set[int]:
        with self.app.session_factory() as s:
            return set(
                s.scalars(
                    select(Membership.person_id).where(
                        Membership.role == Role.PRINCIPAL,
                        Membership.scope_type == ScopeType.SCHOOL,
                        Membership.scope_id == school_id,
                    )
                )
            )

    def _rollcall_written(self, klass: str, day: str, now: datetime) -> None:
        month, dom = (int(n) for n in re.findall(r"\d+", day))
        grade, name = re.fullmatch(r"(\d+)年级(\d+班)", klass).groups()  # type: ignore[union-attr]
        with self.app.session_factory() as s:
            submitted = s.scalars(
                select(RollCall.submitted_at)
                .join(SchoolClass, SchoolClass.id == RollCall.class_id)
                .where(
                    SchoolClass.grade == int(grade),
                    SchoolClass.name == name,
                    RollCall.day == date(2026, month, dom),
                )
            ).all()
        assert submitted == [now], (
            f"the bot confirmed a roll-call of {klass} on {day} that was not written now"
        )


@dataclass
class Week:
    app: App
    console: ConsoleChannel
    claims: Claims

    def say(
        self,
        who: int,
        text: str | None = None,
        *,
        now: datetime,
        payload: str | None = None,
        about: int | None = None,
    ) -> list[Reply]:
        replies = self.console.send(who, text, payload=payload, now=now)
        self.claims.check(replies, self._pupil(about), now)
        return replies

    def pushed(self, who: int, now: datetime) -> list[Reply]:
        replies = self.console.pushed(who, now=now)
        self.claims.check(replies, None, now)
        return replies

    def close(self, day: date) -> None:
        with transaction(self.app.session_factory) as s:
            close_day(s, day, at(day, 10, 30))
        self.claims.new_rows()  # the close's own messages are checked where they are read

    def _pupil(self, student_id: int | None) -> Pupil | None:
        if student_id is None:
            return None
        with self.app.session_factory() as s:
            student = s.get(Student, student_id)
            assert student is not None
            return Pupil(student.id, student.school_id, student.school_class.class_teacher_id)


def _text(replies: list[Reply]) -> str:
    return "\n".join(reply.text for reply in replies)


def _cast(app: App, demo: DemoPeople) -> tuple[int, int, int, int, int, int]:
    """The parent's child in the teacher's class (A) and in another class (B), two more pupils of the
    teacher's class (C, whose guardian has no chat account, and D), B's class teacher and principal."""
    _class, pupils = teacher_class(app, demo.teacher)
    with app.session_factory() as s:
        mine = set(s.scalars(select(Guardian.student_id).where(Guardian.person_id == demo.parent)))
        a = next(p for p in pupils if p in mine)
        b = next(p for p in sorted(mine) if p not in pupils)
        b_pupil = s.get(Student, b)
        assert b_pupil is not None and b_pupil.school_class.class_teacher_id is not None
        b_principal = s.scalars(
            select(Membership.person_id).where(
                Membership.role == Role.PRINCIPAL,
                Membership.scope_type == ScopeType.SCHOOL,
                Membership.scope_id == b_pupil.school_id,
            )
        ).one()
        return a, b, pupils[2], pupils[6], b_pupil.school_class.class_teacher_id, b_principal


def test_a_school_week(console: ConsoleChannel, app: App, demo: DemoPeople) -> None:
    week = Week(app, console, Claims(app))
    a, b, c, d, b_teacher, b_principal = _cast(app, demo)
    for person in (demo.teacher, demo.parent, demo.principal, demo.admin, b_principal):
        console.external_id(person)
    week.claims.new_rows()

    # Monday. Leave for A on Tuesday, asked the day before; sick leave for B today, whose class
    # teacher has no chat account yet: it goes to the principal, who approves it.
    child_button = {a: "1" if a < b else "2", b: "2" if a < b else "1"}
    for step in ("/leave", child_button[a], "2", "1"):  # tomorrow, sick
        week.say(demo.parent, step, now=at(MON, 7))
    said = week.say(demo.parent, "1", now=at(MON, 7, 1), about=a)  # skip the reason
    assert "已发给班主任" in _text(said)
    for step in ("/leave", child_button[b], "1", "1"):  # today, sick
        week.say(demo.parent, step, now=at(MON, 7, 5))
    said = week.say(demo.parent, "1", now=at(MON, 7, 6), about=b)
    assert "已发给校长" in _text(said)
    [request] = week.pushed(b_principal, at(MON, 7, 10))
    decided = week.say(b_principal, payload=request.flat_buttons()[0].payload, now=at(MON, 7, 11), about=b)
    assert "已批准" in _text(decided) and "已通知家长" in _text(decided)
    assert "已批准" in _text(week.pushed(demo.parent, at(MON, 7, 12)))
    # C is absent; C's guardian has no chat account, so the alert says to phone, and nobody is "asked".
    week.say(demo.teacher, "缺 3", now=at(MON, 8))
    week.close(MON)
    alert = _text(week.pushed(demo.teacher, at(MON, 10, 31)))
    assert "家长收不到聊天消息，请打电话" in alert and "已询问家长原因" not in alert
    todo = _text(week.say(demo.teacher, "/todo", now=at(MON, 12)))
    assert "等您处理的请假申请" in todo and "消息送不到的家庭" in todo
    leave_a = next(
        b
        for b in week.say(demo.teacher, "/todo", now=at(MON, 12, 1))[0].flat_buttons()
        if b.label.startswith("✅")
    )
    assert "已通知家长" in _text(week.say(demo.teacher, payload=leave_a.payload, now=at(MON, 12, 2), about=a))
    assert "已批准" in _text(week.pushed(demo.parent, at(MON, 12, 3)))

    # Tuesday: A is on approved leave — pre-marked, not asked about. C is away again.
    week.say(demo.teacher, "缺 3", now=at(TUE, 8))
    week.close(TUE)
    with app.session_factory() as s:
        asked = s.scalars(
            select(OutboxMessage.ref_id).where(OutboxMessage.kind == "attendance.absence_question")
        ).all()
        a_records = s.scalars(select(AttendanceRecord.id).where(AttendanceRecord.student_id == a)).all()
    assert not set(asked) & set(a_records)

    # Wednesday: A and B both away. B's class teacher has joined and takes B's roll-call; the parent
    # gets one question naming both children, and each answer names its child. C's third day: a case.
    week.say(demo.teacher, "缺 1 3", now=at(WED, 8))
    console.external_id(b_teacher)
    week.say(b_teacher, f"缺 {_roll_number(app, b)}", now=at(WED, 8, 5))
    # The teacher opens a roll-call form for Wednesday evening's correction and leaves it open.
    week.say(demo.teacher, "/rollcall", now=at(WED, 9))
    week.close(WED)
    pushed = week.pushed(demo.parent, at(WED, 10, 31))
    assert len(pushed) == 1, [r.text for r in pushed]
    [question] = pushed
    assert len(question.flat_buttons()) == 8
    first_child = a if a < b else b
    answer = week.say(demo.parent, "1", now=at(WED, 10, 40), about=first_child)
    assert _name(app, first_child) in _text(answer)
    other = b if first_child == a else a
    answer = week.say(demo.parent, "6", now=at(WED, 10, 41), about=other)
    assert _name(app, other) in _text(answer)
    with app.session_factory() as s:
        case = s.scalars(select(DropoutCase).where(DropoutCase.student_id == c)).one()

    # Thursday: the form left open yesterday does not take today's marks.
    marked = week.say(demo.teacher, f"缺 {_roll_number(app, d)}", now=at(THU, 8))
    with app.session_factory() as s:
        thursday = s.scalars(select(AttendanceRecord.student_id).where(AttendanceRecord.day == THU)).all()
        wednesday = s.scalars(select(AttendanceRecord.student_id).where(AttendanceRecord.day == WED)).all()
    assert d in thursday and d not in wednesday, _text(marked)
    # C's case is closed as 休学.
    reasons = week.say(demo.teacher, payload=f"csa:{case.id}:not_dropout", now=at(THU, 12))
    suspended = next(b for b in reasons[-1].flat_buttons() if "休学" in b.label)
    week.say(demo.teacher, payload=suspended.payload, now=at(THU, 12, 1))

    # Friday: C is no longer on the roll, and no new case opens.
    listing = week.say(demo.teacher, "/rollcall", now=at(FRI, 8))
    assert _name(app, c) not in " ".join(b.label for b in listing[-1].flat_buttons())
    week.say(demo.teacher, payload=listing[-1].flat_buttons()[-1].payload, now=at(FRI, 8, 1))
    week.close(FRI)
    with app.session_factory() as s:
        cases = [(x.student_id, x.status) for x in s.scalars(select(DropoutCase))]
        pupil_c = s.get(Student, c)
        assert pupil_c is not None and pupil_c.enrolment == Enrolment.SUSPENDED
        assert s.scalars(select(LeaveRequest.status)).all() == [LeaveStatus.APPROVED, LeaveStatus.APPROVED]
    assert cases == [(c, CaseStatus.CLOSED)]
    assert {"sent to the class teacher", "sent to the principal", "the guardian is told"} <= set(
        week.claims.checked
    )
    assert any(item.startswith("roll-call") for item in week.claims.checked)


def _name(app: App, student_id: int) -> str:
    with app.session_factory() as s:
        pupil = s.get(Student, student_id)
        assert pupil is not None
        return pupil.name


def _roll_number(app: App, student_id: int) -> int:
    """The pupil's number on the class roll (1-based, in student-number order), as quick marks use it."""
    with app.session_factory() as s:
        pupil = s.get(Student, student_id)
        assert pupil is not None
        roll = s.scalars(
            select(Student.id)
            .where(Student.class_id == pupil.class_id, Student.active.is_(True))
            .order_by(Student.student_no)
        ).all()
        return roll.index(student_id) + 1
