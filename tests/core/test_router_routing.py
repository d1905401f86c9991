"""Where the router sends each update: commands (with a bot name, arguments, any case), cancel words,
text typed into a dialog, unknown text, the /help menu's buttons, stale and forged presses, and what
a dialog carries from one step to the next. Replies are asserted whole, in 简体中文."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.core.messages import Reply
from db.models import ChannelIdentity, DialogState, Person
from tests.conftest import DemoPeople

NOT_UNDERSTOOD = "抱歉，我没有看懂。"
PARENT_HELP = (
    "我可以帮您：\n/leave — 给孩子请假\n/aid — 学生资助：孩子能领什么？\n/calendar — 校历：放假和开学日期\n"
    "/whoami — 我的绑定身份\n/language — 切换语言 / language\n/forget — 解除绑定\n/help — 显示本列表"
)
PARENT_HELP_BUTTONS = ["go:leave", "go:aid", "go:calendar", "go:whoami", "go:language", "go:forget"]
GUEST_HELP = (
    "我可以帮您：\n/aid — 学生资助：孩子能领什么？\n/start — 绑定账号\n/language — 切换语言 / language\n"
    "/help — 显示本列表\n您还没有绑定：发送 /start 和邀请码即可绑定。"
)
LANGUAGE_PICKER = ("请选择语言：", ["lang:zh_Hans", "lang:zh_Hant", "lang:en"])
EXPIRED = "这个按钮已过期。发送 /help 重新开始。"
NOT_VALID = "这个按钮已失效。发送 /help 重新开始。"
WRONG_CODE = "邀请码不正确。请核对后再试，或发送 /cancel 取消。"


def shown(replies: list[Reply]) -> list[tuple[str, list[str]]]:
    """Each reply as its text and the payloads of its buttons."""
    return [(r.text, [b.payload for b in r.flat_buttons()]) for r in replies]


def stored_dialog(app: App, external_id: str) -> tuple[str, str, dict[str, Any]] | None:
    with app.session_factory() as s:
        identity = s.scalars(select(ChannelIdentity).where(ChannelIdentity.external_id == external_id)).one()
        row = s.get(DialogState, identity.id)
        return (row.flow, row.state, row.data) if row is not None else None


@pytest.mark.parametrize("text", ["what is this?", "你好", "12345"])
def test_text_nobody_handles_gets_the_apology_then_the_help_menu(
    console: ConsoleChannel, demo: DemoPeople, text: str
) -> None:
    assert shown(console.send(demo.parent, text)) == [
        (NOT_UNDERSTOOD, []),
        (PARENT_HELP, PARENT_HELP_BUTTONS),
    ]
    assert [r.text for r in console.send("guest-unknown", text)] == [NOT_UNDERSTOOD, GUEST_HELP]


def test_an_unknown_command_gets_the_apology_then_the_help_menu(
    console: ConsoleChannel, demo: DemoPeople
) -> None:
    assert shown(console.send(demo.parent, "/nosuchcommand")) == [
        (NOT_UNDERSTOOD, []),
        (PARENT_HELP, PARENT_HELP_BUTTONS),
    ]


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_message_gets_the_help_menu_without_an_apology(
    console: ConsoleChannel, demo: DemoPeople, text: str
) -> None:
    assert shown(console.send(demo.parent, text)) == [(PARENT_HELP, PARENT_HELP_BUTTONS)]


@pytest.mark.parametrize(
    "text",
    [
        "/help",
        "/HELP",
        "/menu",
        "/help@JiaxiaoBot",  # Telegram groups name the bot
        "/help@JiaxiaoBot@extra",  # everything after the first @ is the bot's name
        "/help me please",  # arguments after the command
    ],
)
def test_forms_of_the_help_command_all_show_the_menu(
    console: ConsoleChannel, demo: DemoPeople, text: str
) -> None:
    assert shown(console.send(demo.parent, text)) == [(PARENT_HELP, PARENT_HELP_BUTTONS)]


@pytest.mark.parametrize(
    "word", ["cancel", "Cancel", "取消", "退出", "/cancel", "/CANCEL", "/cancel@JiaxiaoBot"]
)
def test_every_cancel_word_ends_the_open_dialog(
    app: App, console: ConsoleChannel, demo: DemoPeople, word: str
) -> None:
    console.send(demo.parent, "/language")
    assert stored_dialog(app, f"person-{demo.parent}") == ("language", "choose", {})
    assert [r.text for r in console.send(demo.parent, word)] == ["已取消。"]
    assert stored_dialog(app, f"person-{demo.parent}") is None
    assert [r.text for r in console.send(demo.parent, word)] == ["没有需要取消的操作。"]


def test_text_after_a_command_reaches_the_flow(console: ConsoleChannel) -> None:
    assert [r.text for r in console.send("guest-deeplink", "/start K7MX4QPA")] == [WRONG_CODE]


def test_text_typed_into_an_open_dialog_reaches_its_step(app: App, console: ConsoleChannel) -> None:
    console.send("guest-typing", "/start")
    assert stored_dialog(app, "guest-typing") == ("start", "code", {})
    assert [r.text for r in console.send("guest-typing", "K7MX4QPA")] == [WRONG_CODE]


def test_text_that_triggers_a_flow_reaches_the_flow(app: App, console: ConsoleChannel) -> None:
    # An unlinked user who types a code without /start first is binding.
    assert [r.text for r in console.send("guest-trigger", "K7MX4QPA")] == [WRONG_CODE]
    assert stored_dialog(app, "guest-trigger") == ("start", "code", {})


def test_a_help_menu_button_starts_its_flow(app: App, console: ConsoleChannel, demo: DemoPeople) -> None:
    assert shown(console.send(demo.parent, payload="go:language")) == [LANGUAGE_PICKER]
    assert stored_dialog(app, f"person-{demo.parent}") == ("language", "choose", {})


def test_a_help_menu_button_starts_its_flow_as_the_bare_command_does(
    console: ConsoleChannel, demo: DemoPeople
) -> None:
    # The button carries no text: aid does not try to read a question out of it.
    pressed = shown(console.send(demo.parent, payload="go:aid"))
    assert pressed == [("问的是哪个孩子？", ["aidk:1", "aidk:143", "aidk:0"])]
    assert shown(console.send(demo.parent, "/aid")) == pressed


@pytest.mark.parametrize("payload", ["go", "go:nope", "go:", "go:x:language", "go:language:x"])
def test_a_start_button_for_no_flow_has_expired(
    app: App, console: ConsoleChannel, demo: DemoPeople, payload: str
) -> None:
    console.send(demo.parent, "/language")
    assert shown(console.send(demo.parent, payload=payload)) == [(EXPIRED, [])]
    assert stored_dialog(app, f"person-{demo.parent}") == ("language", "choose", {})


@pytest.mark.parametrize(
    ("who", "refusal"),
    [
        ("parent", "抱歉，您没有权限进行此操作。"),
        ("guest", "请先绑定账号：发送 /start，再输入学校给您的邀请码。"),
    ],
)
def test_a_start_button_for_a_flow_the_person_may_not_use_is_refused(
    app: App, console: ConsoleChannel, demo: DemoPeople, who: str, refusal: str
) -> None:
    sender: int | str = demo.parent if who == "parent" else "guest-go"
    console.send(sender, "/language")
    assert shown(console.send(sender, payload="go:rollcall")) == [(refusal, [])]
    # The refused press leaves the open dialog alone.
    assert stored_dialog(app, console.external_id(sender)) == ("language", "choose", {})


@pytest.mark.parametrize("payload", ["bcack:zz", "bcack:1:2", "lva:1:maybe"])
def test_a_malformed_press_of_a_stateless_button_is_not_valid(
    console: ConsoleChannel, demo: DemoPeople, payload: str
) -> None:
    assert shown(console.send(demo.teacher, payload=payload)) == [(NOT_VALID, [])]


def test_a_malformed_press_inside_a_dialog_is_not_valid_and_keeps_the_dialog(
    app: App, console: ConsoleChannel, demo: DemoPeople
) -> None:
    console.send(demo.parent, "/leave")
    asked = stored_dialog(app, f"person-{demo.parent}")
    assert asked is not None and asked[:2] == ("leave", "child")
    # The leave flow owns the lvs prefix, but its "which child" step cannot read this button.
    assert shown(console.send(demo.parent, payload="lvs:zz:1")) == [(NOT_VALID, [])]
    assert stored_dialog(app, f"person-{demo.parent}") == asked


def test_a_pressed_button_wins_over_text_sent_with_it(console: ConsoleChannel, demo: DemoPeople) -> None:
    console.send(demo.parent, "/help")  # option 3 is now /calendar
    assert shown(console.send(demo.parent, "3", payload="go:language")) == [LANGUAGE_PICKER]


def test_what_a_step_stores_is_there_for_the_next_step(
    app: App, console: ConsoleChannel, demo: DemoPeople
) -> None:
    console.send(demo.parent, "/leave")
    console.send(demo.parent, payload="lvk:1")
    external = f"person-{demo.parent}"
    assert stored_dialog(app, external) == ("leave", "span", {"student_id": 1, "today": "2026-11-23"})
    # The next step reads the child chosen before and adds the days.
    assert shown(console.send(demo.parent, payload="lvs:today")) == [
        ("病假还是事假？", ["lvt:sick", "lvt:personal"])
    ]
    assert stored_dialog(app, external) == (
        "leave",
        "kind",
        {"student_id": 1, "today": "2026-11-23", "first": "2026-11-23", "last": "2026-11-23"},
    )


def test_a_dialog_is_still_open_after_exactly_a_day_idle(
    console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    console.send(demo.parent, "/language")
    assert [r.text for r in console.send(demo.parent, "3", now=now + timedelta(hours=24))] == [
        "Language set to English."
    ]


def test_typing_a_buttons_label_presses_it(console: ConsoleChannel, demo: DemoPeople) -> None:
    console.send(demo.parent, "/help")
    assert shown(console.send(demo.parent, "切换语言 / language")) == [LANGUAGE_PICKER]


def test_a_linked_persons_language_answers_a_chat_that_chose_none(
    app: App, console: ConsoleChannel, demo: DemoPeople
) -> None:
    with app.session_factory() as s, s.begin():
        found = s.get(Person, demo.parent)
        assert found is not None
        found.locale = "en"
    # The person's language beats the platform's hint.
    replies = console.send(demo.parent, "/whoami", lang="zh-TW")
    assert replies[0].text.splitlines()[0] == "You are linked as 王建国."


def test_each_chat_keeps_its_own_dialog(app: App, console: ConsoleChannel) -> None:
    console.send("guest-first", "/help")
    console.send("guest-second", "/help")
    console.send("guest-second", "/language")
    assert stored_dialog(app, "guest-first") is None
    assert stored_dialog(app, "guest-second") == ("language", "choose", {})
    assert [r.text for r in console.send("guest-second", "3")] == ["Language set to English."]


def test_what_the_opening_message_said_is_kept_for_the_next_step(
    app: App, console: ConsoleChannel, demo: DemoPeople
) -> None:
    console.send(demo.parent, "/leave 今天")
    assert stored_dialog(app, f"person-{demo.parent}") == ("leave", "child", {"span": "today"})
    # "today" was said already: choosing the child skips the question about the days.
    assert shown(console.send(demo.parent, payload="lvk:1")) == [
        ("病假还是事假？", ["lvt:sick", "lvt:personal"])
    ]
