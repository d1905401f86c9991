"""/language asks word for word, with the three buttons, and waits for the choice in its dialog."""

from __future__ import annotations

from sqlalchemy import select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.core.messages import Reply
from db.models import ChannelIdentity, DialogState

BUTTONS = [("简体中文", "lang:zh_Hans"), ("繁體中文", "lang:zh_Hant"), ("English", "lang:en")]


def shown(replies: list[Reply]) -> list[tuple[str, list[tuple[str, str]]]]:
    return [(r.text, [(b.label, b.payload) for b in r.flat_buttons()]) for r in replies]


def dialog_of(app: App, external_id: str) -> tuple[str, str] | None:
    with app.session_factory() as s:
        row = s.execute(
            select(DialogState.flow, DialogState.state)
            .join(ChannelIdentity, ChannelIdentity.id == DialogState.identity_id)
            .where(ChannelIdentity.external_id == external_id)
        ).one_or_none()
        return (row.flow, row.state) if row else None


def test_language_question_in_chinese_then_the_choice_is_taken(app: App, console: ConsoleChannel) -> None:
    assert shown(console.send("lang-guest", "/language")) == [("请选择语言：", BUTTONS)]
    assert dialog_of(app, "lang-guest") == ("language", "choose")
    # The choice is answered by the dialog, also when typed as the language's name.
    assert shown(console.send("lang-guest", "English")) == [("Language set to English.", [])]
    assert dialog_of(app, "lang-guest") is None


def test_language_question_in_english(app: App, console: ConsoleChannel) -> None:
    assert shown(console.send("lang-en", "/lang", lang="en")) == [("Choose your language:", BUTTONS)]
    assert dialog_of(app, "lang-en") == ("language", "choose")
    assert shown(console.send("lang-en", "简体中文")) == [("语言已设为 简体中文。", [])]
