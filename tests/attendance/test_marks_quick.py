"""Quick marks by text, asserted whole: the token limits of the parser, the class question for a
teacher of two classes, roll numbers that follow the roll order of active pupils (up to the last
number and not beyond), unknown and unique names, and a chosen name followed by more names."""

from __future__ import annotations

from sqlalchemy import select

from chatbot.app import App
from chatbot.attendance.quickmark import parse
from chatbot.channels.console import ConsoleChannel
from db.models import Membership, Role, ScopeType, Student
from db.models.attendance import AttendanceRecord, Mark, MarkSource
from db.session import transaction
from tests.attendance.helpers import MONDAY, at, dialog_of, rename, teacher_class

REVIEW_ZH = "其他学生保持原记录（默认出勤）。发送 /rollcall 查看。"


def _shown(replies) -> list[tuple[str, list[list[tuple[str, str]]]]]:  # type: ignore[no-untyped-def]
    return [(r.text, [[(b.label, b.payload) for b in row] for row in r.buttons]) for r in replies]


def _records(app: App) -> dict[int, tuple[int, Mark, MarkSource]]:
    with app.session_factory() as s:
        return {
            sid: (class_id, status, source)
            for sid, class_id, status, source in s.execute(
                select(
                    AttendanceRecord.student_id,
                    AttendanceRecord.class_id,
                    AttendanceRecord.status,
                    AttendanceRecord.source,
                )
            )
        }


def _names(app: App, ids: list[int]) -> list[str]:
    with app.session_factory() as s:
        return [s.get(Student, i).name for i in ids]  # type: ignore[union-attr]


def test_parse_accepts_up_to_sixty_tokens_and_refuses_none_or_more() -> None:
    sixty = [str(n) for n in range(1, 61)]
    assert parse("缺 " + " ".join(sixty)) == (Mark.ABSENT, sixty)
    assert parse("absent " + ",".join(sixty)) == (Mark.ABSENT, sixty)
    assert parse("缺 " + " ".join([*sixty, "61"])) is None
    assert parse("病假 " + " ".join([*sixty, "61", "62"])) is None
    # A keyword followed only by separators names nobody: not a quick mark.
    assert parse("病假;") is None
    assert parse("缺 ;；") is None
    assert parse("late ,;") is None


def test_a_teacher_of_two_classes_is_asked_which_class(console: ConsoleChannel, app: App, demo) -> None:  # type: ignore[no-untyped-def]
    class_id, _ids = teacher_class(app, demo.teacher)
    with transaction(app.session_factory) as s:
        other = s.scalars(
            select(Student.class_id).where(Student.class_id != class_id).order_by(Student.class_id)
        ).first()
        assert other is not None
        s.add(
            Membership(
                person_id=demo.teacher, role=Role.CLASS_TEACHER, scope_type=ScopeType.CLASS, scope_id=other
            )
        )
    with app.session_factory() as s:
        other_ids = list(
            s.scalars(select(Student.id).where(Student.class_id == other).order_by(Student.student_no))
        )
    buttons = [[("红星小学 3年级1班", f"rcq:{class_id}")], [("红星小学 4年级1班", f"rcq:{other}")]]

    asked = console.send(demo.teacher, "缺 2 40", now=at(MONDAY, 8))
    assert _shown(asked) == [("哪个班？", buttons)]
    waiting = ("quickmark", "pick", {"mark": "absent", "tokens": ["2", "40"], "chosen": {}})
    assert dialog_of(app, demo.teacher) == waiting

    # Text instead of a button: asked to choose, still waiting in the same state.
    again = console.send(demo.teacher, "4年级", now=at(MONDAY, 8, 1))
    assert _shown(again) == [("请选择一个按钮。", [])]
    assert dialog_of(app, demo.teacher) == waiting

    done = console.send(demo.teacher, payload=f"rcq:{other}", now=at(MONDAY, 8, 2))
    names = _names(app, [other_ids[1], other_ids[39]])
    assert _shown(done) == [(f"已记录4年级1班：缺勤：2.{names[0]}、40.{names[1]}。{REVIEW_ZH}", [])]
    assert dialog_of(app, demo.teacher) is None
    assert _records(app) == {
        other_ids[1]: (other, Mark.ABSENT, MarkSource.ROLLCALL),
        other_ids[39]: (other, Mark.ABSENT, MarkSource.ROLLCALL),
    }

    english = console.send(demo.teacher, "late 3", lang="en", now=at(MONDAY, 8, 3))
    assert [r.text for r in english] == ["Which class?"]
    assert dialog_of(app, demo.teacher) == (
        "quickmark",
        "pick",
        {"mark": "late", "tokens": ["3"], "chosen": {}},
    )


def test_numbers_follow_the_roll_order_of_active_pupils_up_to_the_last(
    console: ConsoleChannel, app: App, demo
) -> None:  # type: ignore[no-untyped-def]
    class_id, ids = teacher_class(app, demo.teacher)
    assert len(ids) == 38
    with transaction(app.session_factory) as s:
        first = s.get(Student, ids[0])
        assert first is not None
        first.student_no = "030199"  # the lowest id now comes last in the roll
        left = s.get(Student, ids[2])
        assert left is not None
        left.active = False  # left school: not in the roll, the numbers after it move up
    roll = [ids[1], *ids[3:], ids[0]]  # 37 active pupils in roll order
    names = _names(app, roll)

    beyond = console.send(demo.teacher, "缺 1 38", now=at(MONDAY, 8))
    assert _shown(beyond) == [("3年级1班没有38号。", [])]
    english = console.send(demo.teacher, "absent 38", lang="en", now=at(MONDAY, 8))
    assert [r.text for r in english] == ["There is no number 38 in Grade 3 1班."]
    assert _records(app) == {}

    done = console.send(demo.teacher, "缺 1 2 37", now=at(MONDAY, 8, 1))
    assert _shown(done) == [
        (f"已记录3年级1班：缺勤：1.{names[0]}、2.{names[1]}、37.{names[36]}。{REVIEW_ZH}", [])
    ]
    assert dialog_of(app, demo.teacher) is None
    assert _records(app) == {
        roll[0]: (class_id, Mark.ABSENT, MarkSource.ROLLCALL),
        roll[1]: (class_id, Mark.ABSENT, MarkSource.ROLLCALL),
        roll[36]: (class_id, Mark.ABSENT, MarkSource.ROLLCALL),
    }


def test_unknown_and_unique_names(console: ConsoleChannel, app: App, demo) -> None:  # type: ignore[no-untyped-def]
    class_id, ids = teacher_class(app, demo.teacher)
    unique = _names(app, [ids[1]])[0]

    unknown = console.send(demo.teacher, f"缺 {unique} 赵无名", now=at(MONDAY, 8))
    assert _shown(unknown) == [("3年级1班没有叫赵无名的学生。", [])]
    english = console.send(demo.teacher, "absent 赵无名", lang="en", now=at(MONDAY, 8))
    assert [r.text for r in english] == ["No pupil called 赵无名 in Grade 3 1班."]
    assert _records(app) == {}

    done = console.send(demo.teacher, f"事假 {unique}", now=at(MONDAY, 8, 1))
    assert _shown(done) == [(f"已记录3年级1班：事假：2.{unique}。{REVIEW_ZH}", [])]
    assert dialog_of(app, demo.teacher) is None
    assert _records(app) == {ids[1]: (class_id, Mark.PERSONAL, MarkSource.ROLLCALL)}


def test_a_chosen_name_is_followed_by_the_other_names(console: ConsoleChannel, app: App, demo) -> None:  # type: ignore[no-untyped-def]
    class_id, ids = teacher_class(app, demo.teacher)
    rename(app, [ids[4], ids[8]], "马小龙")
    unique = _names(app, [ids[1]])[0]

    asked = console.send(demo.teacher, f"迟到 马小龙 {unique} 12", now=at(MONDAY, 8))
    assert _shown(asked) == [
        (
            "有2个学生叫马小龙，是哪一个？",
            [
                [("5.马小龙 (030105)", f"rcw:{class_id}:{ids[4]}")],
                [("9.马小龙 (030109)", f"rcw:{class_id}:{ids[8]}")],
            ],
        )
    ]
    done = console.send(demo.teacher, payload=f"rcw:{class_id}:{ids[8]}", now=at(MONDAY, 8, 1))
    twelve = _names(app, [ids[11]])[0]
    assert _shown(done) == [(f"已记录3年级1班：迟到：9.马小龙、2.{unique}、12.{twelve}。{REVIEW_ZH}", [])]
    assert dialog_of(app, demo.teacher) is None
    assert _records(app) == {
        ids[8]: (class_id, Mark.LATE, MarkSource.ROLLCALL),
        ids[1]: (class_id, Mark.LATE, MarkSource.ROLLCALL),
        ids[11]: (class_id, Mark.LATE, MarkSource.ROLLCALL),
    }
