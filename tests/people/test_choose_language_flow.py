"""/language: the three buttons, the choice stored on the chat account and on the linked person, the
answer already in the new language; a wrong answer asks again and keeps the dialog open. Through the
console (buttons as numbers and payloads) and a Telegram chat (button labels typed as text)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.channels.telegram import TELEGRAM_CAPS
from chatbot.core.messages import Incoming, Reply
from db.models import ChannelIdentity, Person
from tests.conftest import DemoPeople

BUTTONS = [("简体中文", "lang:zh_Hans"), ("繁體中文", "lang:zh_Hant"), ("English", "lang:en")]


def shown(replies: list[Reply]) -> list[tuple[str, list[tuple[str, str]]]]:
    return [(r.text, [(b.label, b.payload) for b in r.flat_buttons()]) for r in replies]


def _locales(app: App, person_id: int) -> tuple[list[str | None], str | None]:
    """(locale of each of the person's chat accounts, the person's own locale)."""
    with app.session_factory() as s:
        accounts = list(
            s.scalars(select(ChannelIdentity.locale).where(ChannelIdentity.person_id == person_id))
        )
        person = s.get(Person, person_id)
        assert person is not None
        return accounts, person.locale


def _telegram(app: App, now: datetime, text: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """A message typed in a Telegram chat nobody has linked yet (no numbered buttons there)."""
    incoming = Incoming(channel="telegram", external_id="tg-guest", text=text)
    return shown(app.router.handle(incoming, now, TELEGRAM_CAPS))


def _telegram_locale(app: App) -> tuple[str | None, int | None]:
    with app.session_factory() as s:
        identity = s.scalars(select(ChannelIdentity).where(ChannelIdentity.external_id == "tg-guest")).one()
        return identity.locale, identity.person_id


def test_each_button_switches_the_chat_and_the_person(
    app: App, console: ConsoleChannel, demo: DemoPeople
) -> None:
    parent = demo.parent
    assert shown(console.send(parent, "/language")) == [("请选择语言：", BUTTONS)]
    assert shown(console.send(parent, "3")) == [("Language set to English.", [])]
    assert _locales(app, parent) == (["en"], "en")
    assert console.send(parent, "/whoami")[0].text.endswith("\nLanguage: English")

    assert shown(console.send(parent, "/language")) == [("Choose your language:", BUTTONS)]
    assert shown(console.send(parent, "2")) == [("語言已設為 繁體中文。", [])]
    assert _locales(app, parent) == (["zh_Hant"], "zh_Hant")

    assert shown(console.send(parent, "/language")) == [("請選擇語言：", BUTTONS)]
    assert shown(console.send(parent, "1")) == [("语言已设为 简体中文。", [])]
    assert _locales(app, parent) == (["zh_Hans"], "zh_Hans")


def test_a_wrong_answer_asks_again_and_the_dialog_stays_open(
    app: App, console: ConsoleChannel, demo: DemoPeople
) -> None:
    teacher = demo.teacher
    console.send(teacher, "/language")
    assert shown(console.send(teacher, "Klingon")) == [("请选择下面的一个选项。", [])]
    assert shown(console.send(teacher, "克林贡语")) == [("请选择下面的一个选项。", [])]
    assert _locales(app, teacher) == ([None], None)
    assert shown(console.send(teacher, "3")) == [("Language set to English.", [])]
    console.send(teacher, "/language")
    assert shown(console.send(teacher, "Klingon")) == [("Please choose one of the buttons.", [])]
    assert shown(console.send(teacher, "2")) == [("語言已設為 繁體中文。", [])]
    assert _locales(app, teacher) == (["zh_Hant"], "zh_Hant")


def test_a_bad_language_button_asks_again(app: App, console: ConsoleChannel, demo: DemoPeople) -> None:
    principal = demo.principal
    console.send(principal, "/language")
    for payload in ("lang:xx", "lang:EN"):
        assert shown(console.send(principal, payload=payload)) == [("请选择下面的一个选项。", [])]
    # A malformed button is refused by the router; the question stays open.
    for payload in ("lang:en:x", "lang"):
        assert shown(console.send(principal, payload=payload)) == [
            ("这个按钮已失效。发送 /help 重新开始。", [])
        ]
    assert _locales(app, principal) == ([None], None)
    assert shown(console.send(principal, payload="lang:zh_Hant")) == [("語言已設為 繁體中文。", [])]
    assert _locales(app, principal) == (["zh_Hant"], "zh_Hant")
    # The dialog is over: the same button again has expired.
    assert shown(console.send(principal, payload="lang:en")) == [
        ("這個按鈕已過期。發送 /help 重新開始。", [])
    ]


def test_typed_language_names_switch_an_unlinked_chat(app: App, now: datetime) -> None:
    assert _telegram(app, now, "/language") == [("请选择语言：", BUTTONS)]
    assert _telegram(app, now, "English") == [("Language set to English.", [])]
    assert _telegram_locale(app) == ("en", None)

    assert _telegram(app, now, "/language") == [("Choose your language:", BUTTONS)]
    assert _telegram(app, now, "  繁體中文 ") == [("語言已設為 繁體中文。", [])]
    assert _telegram_locale(app) == ("zh_Hant", None)

    assert _telegram(app, now, "/language") == [("請選擇語言：", BUTTONS)]
    assert _telegram(app, now, "english") == [("請選擇下面的一個選項。", [])]
    assert _telegram(app, now, "Chinese") == [("請選擇下面的一個選項。", [])]
    assert _telegram_locale(app) == ("zh_Hant", None)
    assert _telegram(app, now, "简体中文") == [("语言已设为 简体中文。", [])]
    assert _telegram_locale(app) == ("zh_Hans", None)
