"""Roll-call rules: school days only, own classes only, quick text, cutoff, paging, resubmission."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from chatbot.attendance.quickmark import parse
from chatbot.channels.console import ConsoleChannel
from db.models import AuditLog, Membership, Person, Role, SchoolClass, ScopeType, Student
from db.models.attendance import AttendanceRecord, Mark, RollCall
from db.session import transaction
from tests.attendance.helpers import MONDAY, at, grow_class, recorded_marks, rename, teacher_class, texts

SATURDAY = MONDAY + timedelta(days=5)


def _other_class(app, class_id: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with app.session_factory() as s:
        other = s.scalars(select(SchoolClass).where(SchoolClass.id != class_id)).first()
        assert other is not None
        pupil = s.scalars(select(Student.id).where(Student.class_id == other.id)).first()
        assert pupil is not None
        return other.id, pupil


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("缺 3 7 12", (Mark.ABSENT, ["3", "7", "12"])),
        ("absent 3, 7, 12", (Mark.ABSENT, ["3", "7", "12"])),
        ("Absent: 3,7", (Mark.ABSENT, ["3", "7"])),
        ("病假 王小明", (Mark.SICK, ["王小明"])),
        ("事假 王小明、李华", (Mark.PERSONAL, ["王小明", "李华"])),
        ("迟到 5", (Mark.LATE, ["5"])),
        ("缺3 7", (Mark.ABSENT, ["3", "7"])),
        ("病假王小明", (Mark.SICK, ["王小明"])),
        ("缺", None),
        ("缺少材料", None),
        ("latest news", None),
        ("absentee list", None),
        ("今天天气很好", None),
    ],
)
def test_quick_text_parsing(text: str, expected: tuple[Mark, list[str]] | None) -> None:
    assert parse(text) == expected


def test_not_a_school_day_records_nothing(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    for attempt in ("/rollcall", "缺 3"):
        reply = texts(console.send(demo.teacher, attempt, now=at(SATURDAY, 8)))
        assert "不是上课日" in reply
    with app.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(RollCall)) == 0
        assert s.scalar(select(func.count()).select_from(AttendanceRecord)) == 0


def test_forged_payloads_for_another_class_are_refused(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    class_id, pupils = teacher_class(app, demo.teacher)
    other_class, other_pupil = _other_class(app, class_id)
    console.send(demo.teacher, "/rollcall", now=at(MONDAY, 8))
    for forged in (f"rct:{other_class}:{other_pupil}", f"rct:{class_id}:{other_pupil}", f"rcs:{other_class}"):
        assert "权限" in texts(console.send(demo.teacher, payload=forged, now=at(MONDAY, 8, 1)))
    # A parent cannot take a roll-call at all, nor decide leave, nor see another family's phone.
    assert "权限" in texts(console.send(demo.parent, "/rollcall", now=at(MONDAY, 8)))
    assert "权限" in texts(
        console.send(demo.parent, payload=f"abc:{pupils[1]}:{demo.teacher}", now=at(MONDAY, 8))
    )
    with app.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(RollCall)) == 0
        assert s.scalar(select(func.count()).select_from(AttendanceRecord)) == 0


def test_quick_text_names_and_ambiguity(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    _class_id, pupils = teacher_class(app, demo.teacher)
    rename(app, [pupils[5], pupils[9]], "马小龙")
    asked = console.send(demo.teacher, "病假 马小龙", now=at(MONDAY, 8))
    assert "2个学生叫马小龙" in texts(asked)
    assert [b.label.split(".")[0] for b in asked[-1].flat_buttons()] == ["6", "10"]
    done = console.send(demo.teacher, "2", now=at(MONDAY, 8, 1))
    assert "10.马小龙" in texts(done)
    assert "没有叫" in texts(console.send(demo.teacher, "缺 赵无名", now=at(MONDAY, 8, 2)))
    assert "没有99号" in texts(console.send(demo.teacher, "缺 99", now=at(MONDAY, 8, 2)))
    console.send(demo.teacher, "absent 1, 2", now=at(MONDAY, 8, 3))
    assert recorded_marks(app) == {pupils[9]: Mark.SICK, pupils[0]: Mark.ABSENT, pupils[1]: Mark.ABSENT}


def test_resubmission_replaces_until_cutoff_then_only_class_teacher_with_audit(
    console: ConsoleChannel, app, demo
) -> None:  # type: ignore[no-untyped-def]
    class_id, pupils = teacher_class(app, demo.teacher)
    with transaction(app.session_factory) as s:
        subject = Person(name="赵老师", created_at=at(MONDAY, 7))
        s.add(subject)
        s.flush()
        s.add(
            Membership(person_id=subject.id, role=Role.TEACHER, scope_type=ScopeType.CLASS, scope_id=class_id)
        )
        subject_id = subject.id
    console.send(subject_id, "缺 1 2", now=at(MONDAY, 8))
    first = console.send(demo.teacher, "/rollcall", now=at(MONDAY, 9))
    assert "❌" in first[-1].flat_buttons()[0].label  # the earlier marks are shown
    console.send(demo.teacher, "1", now=at(MONDAY, 9, 1))  # absent → sick
    console.send(demo.teacher, payload=f"rcs:{class_id}", now=at(MONDAY, 9, 2))
    assert recorded_marks(app) == {pupils[0]: Mark.SICK, pupils[1]: Mark.ABSENT}
    refused = console.send(subject_id, "缺 3", now=at(MONDAY, 10, 5))
    assert "只有班主任" in texts(refused)
    console.send(demo.teacher, "/rollcall", now=at(MONDAY, 11))
    for _tap in range(4):  # absent → sick → personal → late → present
        console.send(demo.teacher, "2", now=at(MONDAY, 11))
    updated = console.send(demo.teacher, payload=f"rcs:{class_id}", now=at(MONDAY, 11, 1))
    assert "点名已更新" in texts(updated)
    assert recorded_marks(app) == {pupils[0]: Mark.SICK}
    with app.session_factory() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "attendance.rollcall.after_cutoff")).one()
        assert audit.actor_person_id == demo.teacher
        assert audit.details["changes"] == {str(pupils[1]): ["absent", "present"]}


def test_large_class_is_paged_and_edited_in_place(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    class_id, _pupils = teacher_class(app, demo.teacher)
    grow_class(app, class_id, 60, "03019")
    first = console.send(demo.teacher, "/rollcall", now=at(MONDAY, 8))[-1]
    assert "第1/2页" in first.text and first.flat_buttons()[-2].payload == f"rcp:{class_id}:1"
    second = console.send(demo.teacher, payload=f"rcp:{class_id}:1", now=at(MONDAY, 8))[-1]
    assert second.edit and second.flat_buttons()[0].label.startswith("49.")
    console.send(demo.teacher, "12", now=at(MONDAY, 8))  # pupil 60, on page 2
    done = console.send(demo.teacher, payload=f"rcs:{class_id}", now=at(MONDAY, 8, 1))
    assert "实到59人" in texts(done)
