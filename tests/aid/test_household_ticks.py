"""Ticked household flags are never dropped silently (review finding: 建档立卡 then 都不是 lost the tick).

"None of these" or "not sure" with flags ticked asks first; typed answers keep the ticks; and every
answer ends with the facts it was worked out from. All through the console channel.
"""

from __future__ import annotations

from chatbot.channels.console import ConsoleChannel, render_reply
from tests.aid.conftest import transcript

CONFIRM_NONE = (
    "您选了：建档立卡贫困户。要清除这些选择，按“都不是”继续吗？\n"
    "  1. 清除，选“都不是”\n"
    "  2. 不清除，保留我选的"
)
PLEASE_TAP = "请选择一个按钮。"
TICKED = (
    "您家是下面哪种情况？可以选多个，选完点“选好了”。\n"
    "  1. ✓ 建档立卡贫困户\n"
    "  2. 低保户\n"
    "  3. 特困供养\n"
    "  4. 孤儿\n"
    "  5. 残疾\n"
    "  6. 都不是\n"
    "  7. 不确定\n"
    "  8. 选好了"
)


def test_none_of_these_with_a_tick_asks_and_keeping_it_uses_it(guest_console: ConsoleChannel) -> None:
    transcript(guest_console, "ticks-1", "/aid", "3", "1")
    asked = guest_console.send("ticks-1", "6")
    assert [render_reply(r) for r in asked] == [CONFIRM_NONE]
    assert asked[0].edit is True  # it replaces the household keyboard, so no stale tick is left to tap
    assert transcript(guest_console, "ticks-1", "2") == "> 2\n" + TICKED
    out = transcript(guest_console, "ticks-1", "8", "2").splitlines()
    assert "• 家庭经济困难非寄宿生生活补助：每年750元" in out
    assert "以上结果按这些情况得出：初中、不住校、建档立卡贫困户。" in out


def test_clearing_the_ticks_says_what_was_cleared_and_the_answer_says_none(
    guest_console: ConsoleChannel,
) -> None:
    transcript(guest_console, "ticks-2", "/aid", "3", "1", "2", "6")
    out = transcript(guest_console, "ticks-2", "1").splitlines()
    assert out[1] == "已清除：建档立卡贫困户、低保户。"
    assert out[-4] == "以上结果按这些情况得出：初中、家庭不属于所列情况。"
    assert not any("非寄宿生" in line for line in out)


def test_not_sure_with_a_tick_asks_too(guest_console: ConsoleChannel) -> None:
    transcript(guest_console, "ticks-3", "/aid", "4", "2", lang="en")
    out = transcript(guest_console, "ticks-3", "7", lang="en")
    assert out == (
        "> 7\n"
        "You ticked: minimum living allowance (低保). Clear it and continue with “Not sure”?\n"
        "  1. Clear it: not sure\n"
        "  2. No, keep what I ticked"
    )
    cleared = transcript(guest_console, "ticks-3", "1", lang="en")
    assert "Cleared: minimum living allowance (低保)." in cleared
    assert "This answer is for: senior high school, family situation not known." in cleared
    assert "For all of these, check: whether the family is recognised as:" in cleared


def test_typed_none_of_these_with_a_tick_asks_the_same(guest_console: ConsoleChannel) -> None:
    """The button's label typed is the button; a sentence saying "none" is read as facts and asks too."""
    transcript(guest_console, "ticks-4", "/aid", "3", "1")
    assert transcript(guest_console, "ticks-4", "都不是") == "> 都不是\n" + CONFIRM_NONE
    transcript(guest_console, "ticks-4", "2")
    typed = guest_console.send("ticks-4", "住校，家里都不是")
    assert [render_reply(r) for r in typed] == [CONFIRM_NONE]
    assert typed[0].edit is False  # typed, there is no keyboard to replace
    # The boarding stated in the same sentence was kept: clearing goes straight to the answer.
    out = transcript(guest_console, "ticks-4", "1").splitlines()
    assert "以上结果按这些情况得出：初中、住校、家庭不属于所列情况。" in out


def test_a_typed_flag_is_added_to_the_ticks(guest_console: ConsoleChannel) -> None:
    transcript(guest_console, "ticks-5", "/aid", "3", "1")
    out = transcript(guest_console, "ticks-5", "低保", "1").splitlines()
    assert "以上结果按这些情况得出：初中、住校、建档立卡贫困户、低保户。" in out


def test_done_from_the_old_keyboard_keeps_the_ticks(guest_console: ConsoleChannel) -> None:
    """On Telegram the household keyboard may still be on screen: its Done answers the confirmation."""
    transcript(guest_console, "ticks-6", "/aid", "3", "1", "6")
    asked = guest_console.send("ticks-6", payload="aidh:done")
    assert asked[-1].text == "孩子住校吗？"
    out = transcript(guest_console, "ticks-6", "1").splitlines()
    assert "以上结果按这些情况得出：初中、住校、建档立卡贫困户。" in out


def test_the_confirmation_takes_only_its_own_buttons(guest_console: ConsoleChannel) -> None:
    transcript(guest_console, "ticks-7", "/aid", "3", "1", "6")
    for payload in ("aidc:done:1", "aidc:none:7"):
        out = "\n".join(r.text for r in guest_console.send("ticks-7", payload=payload))
        assert "按钮" in out, payload
    typed = guest_console.send("ticks-7", "随便说点什么")
    assert [r.text for r in typed] == [PLEASE_TAP]
    # Still waiting for the answer: "keep" brings back the question with the tick.
    assert transcript(guest_console, "ticks-7", "2") == "> 2\n" + TICKED
