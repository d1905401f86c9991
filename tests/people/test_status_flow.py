"""/status: staff record a pupil's enrolment in chat; only enrolled pupils stay on the roll."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from chatbot.channels.console import ConsoleChannel
from db.models import AuditLog, Enrolment, EnrolmentChange, Student
from tests.attendance.helpers import MONDAY, at, name_of, teacher_class, texts

if TYPE_CHECKING:
    from chatbot.app import App
    from tests.conftest import DemoPeople


def _status(app: App, student_id: int) -> tuple[Enrolment, object, bool]:
    with app.session_factory() as s:
        pupil = s.get(Student, student_id)
        assert pupil is not None
        return pupil.enrolment, pupil.enrolment_since, pupil.active


def test_a_class_teacher_suspends_a_pupil_and_takes_them_back(
    console: ConsoleChannel, app: App, demo: DemoPeople
) -> None:
    _class, pupils = teacher_class(app, demo.teacher)
    pupil = pupils[3]
    name = name_of(app, pupil)
    assert "哪位学生" in texts(console.send(demo.teacher, "/status", now=at(MONDAY, 9)))
    card = console.send(demo.teacher, name, now=at(MONDAY, 9, 1))
    assert f"{name}：在读" in card[-1].text
    labels = [b.label for b in card[-1].flat_buttons()]
    assert labels == ["休学", "转学", "毕业", "辍学"]
    done = console.send(demo.teacher, "1", now=at(MONDAY, 9, 2))  # 休学
    assert texts(done) == f"已记录：{name} 自 11月23日 周一 起为「休学」。"
    assert _status(app, pupil) == (Enrolment.SUSPENDED, MONDAY, False)
    roll = console.send(demo.teacher, "/rollcall", now=at(MONDAY, 9, 3))
    assert name not in " ".join(b.label for b in roll[-1].flat_buttons())
    # Back at school: the pupil is found although no longer on the roll.
    console.send(demo.teacher, "/cancel", now=at(MONDAY, 9, 4))
    console.send(demo.teacher, "/status", now=at(MONDAY, 9, 5))
    card = console.send(demo.teacher, name, now=at(MONDAY, 9, 6))
    assert "休学（自 11月23日 周一 起）" in card[-1].text
    console.send(demo.teacher, payload=card[-1].flat_buttons()[0].payload, now=at(MONDAY, 9, 7))  # 在读
    assert _status(app, pupil)[::2] == (Enrolment.ENROLLED, True)
    with app.session_factory() as s:
        history = [
            (c.enrolment, c.source, c.set_by)
            for c in s.scalars(select(EnrolmentChange).order_by(EnrolmentChange.id))
        ]
        audited = s.scalars(select(AuditLog.details).where(AuditLog.action == "people.enrolment.set")).all()
    assert history == [
        (Enrolment.SUSPENDED, "chat", demo.teacher),
        (Enrolment.ENROLLED, "chat", demo.teacher),
    ]
    assert audited == [{"enrolment": "suspended"}, {"enrolment": "enrolled"}]


def test_status_is_for_staff_and_their_own_pupils_only(
    console: ConsoleChannel, app: App, demo: DemoPeople
) -> None:
    _class, pupils = teacher_class(app, demo.teacher)
    assert "哪位学生" not in texts(console.send(demo.parent, "/status", now=at(MONDAY, 9)))
    console.send(demo.teacher, "/status", now=at(MONDAY, 9))
    assert "没有叫这个名字" in texts(console.send(demo.teacher, "不存在的名字", now=at(MONDAY, 9, 1)))
    # A forged button naming a pupil of another school is refused and writes nothing.
    with app.session_factory() as s:
        other = s.scalars(
            select(Student.id).where(Student.id.not_in(pupils)).order_by(Student.id.desc())
        ).first()
    assert other is not None
    console.send(demo.teacher, name_of(app, pupils[0]), now=at(MONDAY, 9, 2))
    refused = console.send(demo.teacher, payload=f"sts:{other}:suspended", now=at(MONDAY, 9, 3))
    assert "权限" in texts(refused)
    assert _status(app, other) == (Enrolment.ENROLLED, None, True)
