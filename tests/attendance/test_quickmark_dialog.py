"""Quick marks by text ("病假 马小龙"), asserted whole: ordinary text is not taken for a mark, the flow
started without text explains itself, and ambiguous names are asked back one after another, text
instead of a button asking again, before the pupils are recorded."""

from __future__ import annotations

from chatbot.channels.console import ConsoleChannel
from db.models.attendance import Mark
from tests.attendance.helpers import MONDAY, at, button_rows, dialog_of, recorded_marks, rename, teacher_class

CHOOSE = "请选择一个按钮。"


def test_ordinary_text_from_a_teacher_is_not_a_quick_mark(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    replies = console.send(demo.teacher, "今天天气很好", now=at(MONDAY, 8))
    assert replies[0].text == "抱歉，我没有看懂。"
    assert not any("缺 3 7 12" in r.text for r in replies)
    state = dialog_of(app, demo.teacher)
    assert state is None or state[0] != "quickmark"
    assert recorded_marks(app) == {}


def test_started_without_text_it_shows_an_example(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    for lang, expected in (
        (None, "例如：缺 3 7 12，或 病假 王小明。"),
        ("en", "Write for example: 缺 3 7 12, or 病假 王小明."),
    ):
        replies = console.send(demo.teacher, payload="go:quickmark", lang=lang, now=at(MONDAY, 8))
        assert [(r.text, r.buttons) for r in replies] == [(expected, [])]
        assert dialog_of(app, demo.teacher) is None
    assert recorded_marks(app) == {}


def test_two_ambiguous_names_are_asked_one_after_the_other(console: ConsoleChannel, app, demo) -> None:  # type: ignore[no-untyped-def]
    class_id, ids = teacher_class(app, demo.teacher)
    rename(app, [ids[5], ids[9]], "马小龙")
    rename(app, [ids[2], ids[7]], "李小花")

    asked = console.send(demo.teacher, "病假 马小龙 李小花", now=at(MONDAY, 8))
    assert [(r.text, button_rows(r)) for r in asked] == [
        (
            "有2个学生叫马小龙，是哪一个？",
            [
                [("6.马小龙 (030106)", f"rcw:{class_id}:{ids[5]}")],
                [("10.马小龙 (030110)", f"rcw:{class_id}:{ids[9]}")],
            ],
        )
    ]
    waiting = (
        "quickmark",
        "which",
        {
            "mark": "sick",
            "tokens": ["马小龙", "李小花"],
            "chosen": {},
            "class_id": class_id,
            "pending": "马小龙",
        },
    )
    assert dialog_of(app, demo.teacher) == waiting

    # Text instead of a button: asked again, the question stays open.
    for typed in ("马小龙", "十"):
        again = console.send(demo.teacher, typed, now=at(MONDAY, 8, 1))
        assert [(r.text, r.buttons) for r in again] == [(CHOOSE, [])]
        assert dialog_of(app, demo.teacher) == waiting
    again = console.send(demo.teacher, "which one", lang="en", now=at(MONDAY, 8, 1))
    assert [r.text for r in again] == ["Please choose one of the buttons."]
    assert recorded_marks(app) == {}

    second = console.send(demo.teacher, "2", now=at(MONDAY, 8, 2))
    assert [(r.text, button_rows(r)) for r in second] == [
        (
            "有2个学生叫李小花，是哪一个？",
            [
                [("3.李小花 (030103)", f"rcw:{class_id}:{ids[2]}")],
                [("8.李小花 (030108)", f"rcw:{class_id}:{ids[7]}")],
            ],
        )
    ]
    state = dialog_of(app, demo.teacher)
    assert state is not None and state[:2] == ("quickmark", "which")
    assert state[2]["chosen"] == {"马小龙": ids[9]} and state[2]["pending"] == "李小花"

    done = console.send(demo.teacher, "1", now=at(MONDAY, 8, 3))
    assert [(r.text, r.buttons) for r in done] == [
        (
            "已记录3年级1班：病假：10.马小龙、3.李小花。其他学生保持原记录（默认出勤）。发送 /rollcall 查看。",
            [],
        )
    ]
    assert dialog_of(app, demo.teacher) is None
    assert recorded_marks(app) == {ids[9]: Mark.SICK, ids[2]: Mark.SICK}
