"""Buttons on pushed messages, exactly: a teacher decides a leave request, a guardian answers an absence
question, staff look up a guardian's phone. Each press is checked by its whole reply, the audit row it
writes and the outbox row it queues for the other side."""

from __future__ import annotations

import warnings
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import SAWarning

from chatbot.channels.console import ConsoleChannel
from db.models import Guardian, Person, School, Student
from db.models.attendance import (
    AttendanceRecord,
    GuardianAnswer,
    LeaveKind,
    LeaveRequest,
    LeaveStatus,
    Mark,
    MarkSource,
)
from db.session import transaction
from tests.attendance.helpers import (
    MONDAY,
    absence,
    at,
    audit_rows,
    buttons_of,
    identity_of,
    name_of,
    outbox_dicts,
    teacher_class,
)

NOON = at(MONDAY, 12)
TZ = "Asia/Urumqi"  # the school's own zone, unlike the region's Asia/Shanghai


def _school_in_urumqi(app, student_id: int) -> None:  # type: ignore[no-untyped-def]
    with transaction(app.session_factory) as s:
        student = s.get(Student, student_id)
        assert student is not None
        school = s.get(School, student.school_id)
        assert school is not None
        school.timezone = TZ


def _leave(app, student_id: int, requested_by: int | None, kind: LeaveKind, first: date, last: date) -> int:  # type: ignore[no-untyped-def]
    with transaction(app.session_factory) as s:
        leave = LeaveRequest(
            student_id=student_id,
            requested_by=requested_by,
            kind=kind,
            first_day=first,
            last_day=last,
            reason=None,
            status=LeaveStatus.PENDING,
            created_at=at(MONDAY, 7),
        )
        s.add(leave)
        s.flush()
        return leave.id


def _shown(replies) -> list[tuple[str, list[tuple[str, str]], bool]]:  # type: ignore[no-untyped-def]
    return [(r.text, buttons_of(r), r.edit) for r in replies]


def _add_person(app, name: str, phone: str | None, links: list[tuple[int, str | None]]) -> int:  # type: ignore[no-untyped-def]
    with transaction(app.session_factory) as s:
        person = Person(name=name, phone=phone, created_at=at(MONDAY, 6))
        s.add(person)
        s.flush()
        for student_id, relation in links:
            s.add(Guardian(person_id=person.id, student_id=student_id, relation=relation))
            s.flush()
        return person.id


def _absent(app, student_id: int, teacher: int) -> int:  # type: ignore[no-untyped-def]
    with transaction(app.session_factory) as s:
        student = s.get(Student, student_id)
        assert student is not None
        record = absence(student, MONDAY, teacher)
        s.add(record)
        s.flush()
        return record.id


def test_teacher_approves_then_rejects_and_the_guardian_is_told(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo
) -> None:
    _, pupils = teacher_class(app, demo.teacher)
    child = pupils[0]  # the demo parent's child
    _school_in_urumqi(app, child)
    console.external_id(demo.parent)
    parent_chat = identity_of(app, demo.parent)
    sick = _leave(app, child, demo.parent, LeaveKind.SICK, MONDAY, MONDAY + timedelta(days=1))
    personal = _leave(
        app, child, demo.parent, LeaveKind.PERSONAL, MONDAY + timedelta(days=2), MONDAY + timedelta(days=2)
    )

    approved = console.send(demo.teacher, payload=f"lva:{sick}:1", now=NOON)
    assert _shown(approved) == [
        ("已批准：潘佳涵的病假，11月23日 周一至11月24日 周二。已通知家长。", [], True)
    ]
    asked_why = console.send(demo.teacher, payload=f"lva:{personal}:0", now=NOON)
    assert _shown(asked_why) == [("为什么不批准？请输入原因，家长会看到。或发送 /cancel 取消。", [], False)]
    rejected = console.send(demo.teacher, "那天有期中考试", now=NOON)
    assert _shown(rejected) == [("已拒绝：潘佳涵的事假，11月25日 周三。已通知家长。", [], False)]

    assert audit_rows(app, "attendance.") == [
        (NOON, demo.teacher, "attendance.leave.decide", f"leave:{sick}", {"approved": True}),
        (NOON, demo.teacher, "attendance.leave.decide", f"leave:{personal}", {"approved": False}),
    ]
    common = {
        "identity_id": parent_chat,
        "person_id": demo.parent,
        "channel": "console",
        "kind": "attendance.leave_decision",
        "buttons": [],
        "priority": 10,
        "not_before": NOON,
        "tz": TZ,
    }
    assert outbox_dicts(app, "channel") == [
        common
        | {
            "text": "✅ 老师已批准潘佳涵的病假：11月23日 周一至11月24日 周二。",
            "dedupe_key": f"att.leave:{sick}:decided|{parent_chat}",
            "ref": ("leave_request", sick),
        },
        common
        | {
            "text": "❌ 老师没有批准潘佳涵的事假：11月25日 周三。请联系老师。\n原因：那天有期中考试",
            "dedupe_key": f"att.leave:{personal}:decided|{parent_chat}",
            "ref": ("leave_request", personal),
        },
    ]
    with app.session_factory() as s:
        decided = [
            (r.status, r.decided_by, r.decided_at)
            for r in s.scalars(select(LeaveRequest).order_by(LeaveRequest.id))
        ]
    assert decided == [(LeaveStatus.APPROVED, demo.teacher, NOON), (LeaveStatus.REJECTED, demo.teacher, NOON)]

    # A second press, either way, edits the message to say it was answered; nothing more is written.
    for payload in (f"lva:{sick}:0", f"lva:{personal}:1"):
        again = console.send(demo.teacher, payload=payload, now=NOON + timedelta(minutes=5))
        assert _shown(again) == [("这个请假已经处理过了。", [], True)]
    assert len(audit_rows(app, "attendance.")) == 2 and len(outbox_dicts(app, "channel")) == 2


def test_decision_in_english(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    _, pupils = teacher_class(app, demo.teacher)
    leave = _leave(app, pupils[0], demo.parent, LeaveKind.PERSONAL, MONDAY, MONDAY)
    asked_why = console.send(demo.teacher, payload=f"lva:{leave}:0", now=NOON, lang="en")
    assert "Type the reason" in _shown(asked_why)[0][0]
    rejected = console.send(demo.teacher, "exams that day", now=NOON, lang="en")
    assert _shown(rejected) == [
        (
            "Refused: personal leave for 潘佳涵, Mon, Nov 23. The guardian cannot be reached by chat: please phone them.",
            [],
            False,
        )
    ]
    again = console.send(demo.teacher, payload=f"lva:{leave}:0", now=NOON, lang="en")
    assert _shown(again) == [("This request was already answered.", [], True)]


def test_a_request_whose_guardian_account_is_gone_is_decided_and_the_teacher_asked_to_phone(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo
) -> None:
    """requested_by is NULL (the account was deleted): no guardian is looked up, so SQLAlchemy never
    warns about a NULL primary key (made an error here), and nothing is queued."""
    _, pupils = teacher_class(app, demo.teacher)
    console.external_id(demo.parent)
    leave = _leave(app, pupils[0], None, LeaveKind.SICK, MONDAY, MONDAY)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SAWarning)
        approved = console.send(demo.teacher, payload=f"lva:{leave}:1", now=NOON)
    assert _shown(approved) == [
        ("已批准：潘佳涵的病假，11月23日 周一。家长无法在聊天中收到通知，请打电话告诉他们。", [], True)
    ]
    assert outbox_dicts(app, "channel") == []
    assert audit_rows(app, "attendance.") == [
        (NOON, demo.teacher, "attendance.leave.decide", f"leave:{leave}", {"approved": True})
    ]


def test_a_guardian_answers_an_absence_and_the_class_teacher_is_told(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo
) -> None:
    """The grandmother also guards an earlier pupil (as 舅舅, on purpose different); the pupil's own
    guardian from the demo is another relation: only her relation to this pupil is shown."""
    _, pupils = teacher_class(app, demo.teacher)
    _school_in_urumqi(app, pupils[0])
    console.external_id(demo.teacher)
    teacher_chat = identity_of(app, demo.teacher)
    gran = _add_person(app, "赵桂英", "13812345678", [(pupils[2], "舅舅"), (pupils[5], "外婆")])
    other = _add_person(app, "钱多多", None, [(pupils[6], None)])
    with app.session_factory() as s:
        own = s.scalars(
            select(Guardian.relation).where(Guardian.student_id == pupils[5], Guardian.person_id != gran)
        ).one()
    assert own not in ("外婆", "舅舅", None)
    record = _absent(app, pupils[5], demo.teacher)
    record2 = _absent(app, pupils[6], demo.teacher)

    answered = console.send(gran, payload=f"aba:{record}:on_the_way", now=NOON)
    pupil5, pupil6 = name_of(app, pupils[5]), name_of(app, pupils[6])
    assert _shown(answered) == [(f"谢谢。{pupil5}：已在路上。已告诉班主任。", [], True)]
    later = NOON + timedelta(minutes=3)
    answered2 = console.send(other, payload=f"aba:{record2}:sick", now=later, lang="en")
    assert _shown(answered2) == [(f"Thank you. {pupil6}: Sick. The class teacher has been told.", [], True)]

    with app.session_factory() as s:
        rows = [
            (r.id, r.status, r.source, r.guardian_answer, r.answered_by, r.answered_at)
            for r in s.scalars(select(AttendanceRecord).order_by(AttendanceRecord.id))
        ]
    assert rows == [
        (record, Mark.LATE, MarkSource.GUARDIAN, GuardianAnswer.ON_THE_WAY, gran, NOON),
        (record2, Mark.SICK, MarkSource.GUARDIAN, GuardianAnswer.SICK, other, later),
    ]
    common = {
        "identity_id": teacher_chat,
        "person_id": demo.teacher,
        "channel": "console",
        "kind": "attendance.absence_answer",
        "buttons": [],
        "priority": 0,  # urgent
        "tz": TZ,
    }
    assert outbox_dicts(app, "channel") == [
        common
        | {
            "text": "💬 赵桂英（外婆）回复邓洋轩（3年级1班，11月23日 周一）缺勤原因：已在路上",
            "not_before": NOON,
            "dedupe_key": f"att.ans:{record}:on_the_way|{teacher_chat}",
            "ref": ("attendance_record", record),
        },
        common
        | {
            "text": "💬 钱多多（家长）回复孙嘉（3年级1班，11月23日 周一）缺勤原因：生病",
            "not_before": later,
            "dedupe_key": f"att.ans:{record2}:sick|{teacher_chat}",
            "ref": ("attendance_record", record2),
        },
    ]
    assert audit_rows(app, "attendance.") == [
        (NOON, gran, "attendance.absence.answer", f"attendance_record:{record}", {"answer": "on_the_way"}),
        (later, other, "attendance.absence.answer", f"attendance_record:{record2}", {"answer": "sick"}),
    ]

    # The same answer again only thanks; a forged answer is refused; neither writes anything.
    assert _shown(console.send(gran, payload=f"aba:{record}:on_the_way", now=later)) == [
        ("谢谢，已经记录过了。", [], True)
    ]
    assert _shown(console.send(gran, payload=f"aba:{record}:bogus", now=later)) == [
        ("这个按钮已失效。请发送 /help 重新开始。", [], False)
    ]
    assert _shown(console.send(other, payload=f"aba:{record2}:sick", now=later, lang="en")) == [
        ("Thank you, this was already recorded.", [], True)
    ]
    assert _shown(console.send(other, payload=f"aba:{record2}:SICK", now=later, lang="en")) == [
        ("That button is not valid any more. Send /help to start again.", [], False)
    ]
    assert len(outbox_dicts(app, "channel")) == 2 and len(audit_rows(app, "attendance.")) == 2


def test_staff_see_a_guardians_phone_and_each_look_is_audited(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo
) -> None:
    _, pupils = teacher_class(app, demo.teacher)
    gran = _add_person(app, "赵桂英", "13812345678", [(pupils[2], "舅舅"), (pupils[5], "外婆")])
    other = _add_person(app, "钱多多", None, [(pupils[6], None)])
    assert _shown(console.send(demo.teacher, payload=f"abc:{pupils[5]}:{gran}", now=NOON)) == [
        ("邓洋轩的外婆：赵桂英，电话 13812345678", [], False)
    ]
    assert _shown(console.send(demo.teacher, payload=f"abc:{pupils[6]}:{other}", now=NOON)) == [
        ("孙嘉的家长：钱多多，电话 （没有登记电话）", [], False)
    ]
    assert _shown(console.send(demo.principal, payload=f"abc:{pupils[6]}:{other}", now=NOON, lang="en")) == [
        ("guardian of 孙嘉: 钱多多, phone (no phone number on file)", [], False)
    ]
    assert _shown(console.send(demo.teacher, payload=f"abc:{pupils[2]}:{gran}", now=NOON, lang="en")) == [
        ("舅舅 of 杜然涛: 赵桂英, phone 13812345678", [], False)
    ]
    assert [row[1:] for row in audit_rows(app)] == [
        (demo.teacher, "attendance.contact_guardian", f"student:{pupils[5]}", {"guardian_id": gran}),
        (demo.teacher, "attendance.contact_guardian", f"student:{pupils[6]}", {"guardian_id": other}),
        (demo.principal, "attendance.contact_guardian", f"student:{pupils[6]}", {"guardian_id": other}),
        (demo.teacher, "attendance.contact_guardian", f"student:{pupils[2]}", {"guardian_id": gran}),
    ]
