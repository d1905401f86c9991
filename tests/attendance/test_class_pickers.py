"""A teacher who takes roll-call for several classes is asked "Which class?", by /rollcall and by a quick
mark ("缺 3"): a button opens that class, text instead of a button is asked again (the question stays
open), and a forged button for a class she may not take roll-call for is refused."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from db.models import Membership, Role, School, SchoolClass, ScopeType
from db.models.attendance import AttendanceRecord, Mark, RollCall
from db.session import transaction
from tests.attendance.helpers import MONDAY, at, buttons_of, dialog_of, pupils_of, recorded_marks, rename

ASK = "哪个班？"
CHOOSE = "请选择一个按钮。"
REFUSED = "抱歉，您没有权限这样做。"
DAY = "11月23日 周一"


def _class(app: App, school: str, grade: int) -> int:
    with app.session_factory() as s:
        return s.scalars(
            select(SchoolClass.id).join(School).where(School.name == school, SchoolClass.grade == grade)
        ).one()


@pytest.fixture
def classes(app, demo) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The demo teacher's own class, a second class (another school) she teaches, and one she does not."""
    own = _class(app, "红星小学", 3)
    second = _class(app, "东乡第一初级中学", 7)
    with transaction(app.session_factory) as s:
        s.add(
            Membership(person_id=demo.teacher, role=Role.TEACHER, scope_type=ScopeType.CLASS, scope_id=second)
        )
    return {"own": own, "second": second, "foreign": _class(app, "红星小学", 4)}


def _rollcalls(app) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    with app.session_factory() as s:
        return [(r[0], r[1]) for r in s.execute(select(RollCall.class_id, RollCall.submitted_by))]


def _nothing_recorded(app) -> None:  # type: ignore[no-untyped-def]
    with app.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(RollCall)) == 0
        assert s.scalar(select(func.count()).select_from(AttendanceRecord)) == 0


# --- /rollcall -------------------------------------------------------------------------------


def _ask_class(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, teacher: int, classes: dict[str, int], text: str, prefix: str
) -> tuple[str, str, dict[str, Any]] | None:
    """`text` asks the teacher which class, offering exactly her two (payloads `prefix:ID`). → her dialog."""
    asked = console.send(teacher, text, now=at(MONDAY, 8))
    assert len(asked) == 1
    assert asked[0].text == ASK
    assert buttons_of(asked[0]) == [
        ("红星小学 3年级1班", f"{prefix}:{classes['own']}"),
        ("东乡第一初级中学 7年级1班", f"{prefix}:{classes['second']}"),
    ]
    return dialog_of(app, teacher)


def _ask_rollcall(console: ConsoleChannel, app, teacher: int, classes: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    assert _ask_class(console, app, teacher, classes, "/rollcall", "rck") == ("rollcall", "pick", {})


def test_rollcall_asks_which_class_and_a_button_opens_it(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo, classes
) -> None:
    _ask_rollcall(console, app, demo.teacher, classes)
    opened = console.send(demo.teacher, "2", now=at(MONDAY, 8, 1))  # the second button, by number
    assert len(opened) == 1
    assert opened[0].text == (
        f"点名 7年级1班，{DAY}。默认全部出勤，只点有变化的学生。\n点一下切换：❌缺勤 → 🤒病假 → 📝事假 → ⏰迟到 → ✅出勤"
    )
    pupils = pupils_of(app, classes["second"])
    buttons = buttons_of(opened[0])
    assert len(buttons) == len(pupils) + 1 == 46
    assert buttons[0] == (f"1.{pupils[0][1]}✅", f"rct:{classes['second']}:{pupils[0][0]}")
    assert buttons[-1] == ("✔ 提交（实到45人）", f"rcs:{classes['second']}")
    assert dialog_of(app, demo.teacher) == (
        "rollcall",
        "marking",
        {"class_id": classes["second"], "day": "2026-11-23", "page": 0, "marks": {}, "opened": {}},
    )
    console.send(demo.teacher, "3", now=at(MONDAY, 8, 2))  # pupil 3 absent
    done = console.send(demo.teacher, payload=f"rcs:{classes['second']}", now=at(MONDAY, 8, 3))
    assert done[0].text == (
        f"点名已记录：7年级1班，{DAY}。应到45人，实到44人。\n缺勤 1\n截止时间到后会询问缺勤学生的家长。"
    )
    assert _rollcalls(app) == [(classes["second"], demo.teacher)]
    assert recorded_marks(app) == {pupils[2][0]: Mark.ABSENT}
    assert dialog_of(app, demo.teacher) is None


def test_rollcall_pick_by_button_payload_opens_the_first_class(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo, classes
) -> None:
    _ask_rollcall(console, app, demo.teacher, classes)
    opened = console.send(demo.teacher, payload=f"rck:{classes['own']}", now=at(MONDAY, 8, 1))
    assert opened[0].text.startswith(f"点名 3年级1班，{DAY}。")
    assert buttons_of(opened[0])[-1] == ("✔ 提交（实到38人）", f"rcs:{classes['own']}")
    state = dialog_of(app, demo.teacher)
    assert state is not None and state[:2] == ("rollcall", "marking")
    assert state[2]["class_id"] == classes["own"]


def test_rollcall_pick_asks_again_for_text_and_stays_in_the_question(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo, classes
) -> None:
    _ask_rollcall(console, app, demo.teacher, classes)
    for typed in ("3年级1班", "3", "缺 3"):
        again = console.send(demo.teacher, typed, now=at(MONDAY, 8, 1))
        assert len(again) == 1
        assert again[0].text == CHOOSE and again[0].buttons == []
        assert dialog_of(app, demo.teacher) == ("rollcall", "pick", {})
    _nothing_recorded(app)
    # The question is still open: the class buttons still work.
    opened = console.send(demo.teacher, "1", now=at(MONDAY, 8, 2))
    assert opened[0].text.startswith(f"点名 3年级1班，{DAY}。")


@pytest.mark.parametrize("which", ["foreign", "missing"])
def test_rollcall_pick_refuses_a_forged_class(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo, classes, which: str
) -> None:
    _ask_rollcall(console, app, demo.teacher, classes)
    class_id = classes["foreign"] if which == "foreign" else 999999
    refused = console.send(demo.teacher, payload=f"rck:{class_id}", now=at(MONDAY, 8, 1))
    assert len(refused) == 1
    assert refused[0].text == REFUSED and refused[0].buttons == []
    assert dialog_of(app, demo.teacher) is None
    # Nothing was opened for that class: a tap or a submit for it is not taken either.
    assert console.send(demo.teacher, payload=f"rcs:{class_id}", now=at(MONDAY, 8, 2))[0].text == (
        "这个按钮已过期。发送 /help 重新开始。"
    )
    _nothing_recorded(app)


# --- quick marks ("缺 3") ---------------------------------------------------------------------


def _ask_quick(console: ConsoleChannel, app, teacher: int, classes: dict[str, int], text: str) -> None:  # type: ignore[no-untyped-def]
    state = _ask_class(console, app, teacher, classes, text, "rcq")
    assert state is not None and state[:2] == ("quickmark", "pick")


def test_quick_mark_asks_which_class_and_a_button_records_there(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo, classes
) -> None:
    _ask_quick(console, app, demo.teacher, classes, "缺 3 5")
    assert dialog_of(app, demo.teacher) == (
        "quickmark",
        "pick",
        {"mark": "absent", "tokens": ["3", "5"], "chosen": {}},
    )
    done = console.send(demo.teacher, "2", now=at(MONDAY, 8, 1))
    pupils = pupils_of(app, classes["second"])
    assert len(done) == 1
    assert done[0].text == (
        f"已记录7年级1班：缺勤：3.{pupils[2][1]}、5.{pupils[4][1]}。其他学生保持原记录（默认出勤）。发送 /rollcall 查看。"
    )
    assert recorded_marks(app) == {pupils[2][0]: Mark.ABSENT, pupils[4][0]: Mark.ABSENT}
    assert dialog_of(app, demo.teacher) is None


def test_quick_mark_pick_by_payload_records_in_the_first_class(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo, classes
) -> None:
    _ask_quick(console, app, demo.teacher, classes, "迟到 1")
    done = console.send(demo.teacher, payload=f"rcq:{classes['own']}", now=at(MONDAY, 8, 1))
    pupils = pupils_of(app, classes["own"])
    assert done[0].text.startswith(f"已记录3年级1班：迟到：1.{pupils[0][1]}。")
    assert recorded_marks(app) == {pupils[0][0]: Mark.LATE}


def test_quick_mark_pick_asks_again_for_text_and_keeps_the_marks(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo, classes
) -> None:
    _ask_quick(console, app, demo.teacher, classes, "病假 4")
    for typed in ("7年级", "9", "缺 5"):
        again = console.send(demo.teacher, typed, now=at(MONDAY, 8, 1))
        assert len(again) == 1
        assert again[0].text == CHOOSE and again[0].buttons == []
        assert dialog_of(app, demo.teacher) == (
            "quickmark",
            "pick",
            {"mark": "sick", "tokens": ["4"], "chosen": {}},
        )
    _nothing_recorded(app)
    done = console.send(demo.teacher, "2", now=at(MONDAY, 8, 2))
    pupils = pupils_of(app, classes["second"])
    assert done[0].text.startswith(f"已记录7年级1班：病假：4.{pupils[3][1]}。")
    assert recorded_marks(app) == {pupils[3][0]: Mark.SICK}


@pytest.mark.parametrize("which", ["foreign", "missing"])
def test_quick_mark_pick_refuses_a_forged_class(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo, classes, which: str
) -> None:
    _ask_quick(console, app, demo.teacher, classes, "缺 3")
    class_id = classes["foreign"] if which == "foreign" else 999999
    refused = console.send(demo.teacher, payload=f"rcq:{class_id}", now=at(MONDAY, 8, 1))
    assert len(refused) == 1
    assert refused[0].text == REFUSED and refused[0].buttons == []
    assert dialog_of(app, demo.teacher) is None
    _nothing_recorded(app)


@pytest.mark.parametrize("text", ["缺 99", "病假 马小龙", "事假 无此人"])
def test_quick_mark_pick_of_a_forged_class_reveals_nothing_about_it(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo, classes, text: str
) -> None:
    """Refused before the pupils are looked up: no "no number 99 in …", no pupils of that class to choose."""
    foreign = pupils_of(app, classes["foreign"])
    rename(app, [foreign[5][0], foreign[9][0]], "马小龙")
    _ask_quick(console, app, demo.teacher, classes, text)
    refused = console.send(demo.teacher, payload=f"rcq:{classes['foreign']}", now=at(MONDAY, 8, 1))
    assert len(refused) == 1
    assert refused[0].text == REFUSED and refused[0].buttons == []
    assert dialog_of(app, demo.teacher) is None
    _nothing_recorded(app)


def test_quick_mark_pick_remembers_the_class_for_an_ambiguous_name(  # type: ignore[no-untyped-def]
    console: ConsoleChannel, app, demo, classes
) -> None:
    pupils = pupils_of(app, classes["second"])
    rename(app, [pupils[5][0], pupils[9][0]], "马小龙")
    _ask_quick(console, app, demo.teacher, classes, "病假 马小龙")
    which = console.send(demo.teacher, "2", now=at(MONDAY, 8, 1))
    assert which[0].text == "有2个学生叫马小龙，是哪一个？"
    assert buttons_of(which[0]) == [
        ("6.马小龙 (070106)", f"rcw:{classes['second']}:{pupils[5][0]}"),
        ("10.马小龙 (070110)", f"rcw:{classes['second']}:{pupils[9][0]}"),
    ]
    state = dialog_of(app, demo.teacher)
    assert state is not None and state[:2] == ("quickmark", "which")
    assert state[2]["class_id"] == classes["second"]
    done = console.send(demo.teacher, "2", now=at(MONDAY, 8, 2))
    assert done[0].text.startswith("已记录7年级1班：病假：10.马小龙。")
    assert recorded_marks(app) == {pupils[9][0]: Mark.SICK}
