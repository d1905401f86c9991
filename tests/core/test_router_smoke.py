"""The core path end to end through the console harness: commands, dialogs, buttons, locale."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from chatbot.channels.console import ConsoleChannel
from db.models import ChannelIdentity, DialogState


def texts(replies):  # type: ignore[no-untyped-def]
    return "\n".join(r.text for r in replies)


def test_help_for_an_unbound_guest_points_at_start(console: ConsoleChannel) -> None:
    replies = console.send("guest-1", "/help")
    assert "/start" in texts(replies)
    assert "/rollcall" not in texts(replies)


def test_language_switch_by_number_is_remembered(console: ConsoleChannel, demo, app) -> None:  # type: ignore[no-untyped-def]
    replies = console.send(demo.parent, "/language")
    labels = [b.label for b in replies[-1].flat_buttons()]
    assert labels == ["简体中文", "繁體中文", "English"]
    replies = console.send(demo.parent, "3")
    assert texts(replies) == "Language set to English."
    assert "linked as 王建国" in texts(console.send(demo.parent, "/whoami"))
    with app.session_factory() as s:
        identity = s.scalars(
            select(ChannelIdentity).where(ChannelIdentity.external_id == f"person-{demo.parent}")
        ).one()
        assert identity.locale == "en"
        assert s.get(DialogState, identity.id) is None


def test_dialog_state_survives_a_new_router(app, demo, now) -> None:  # type: ignore[no-untyped-def]
    from chatbot.core.router import Router

    first = ConsoleChannel(app.session_factory, Router(app.session_factory, app.settings), clock=lambda: now)
    first.send(demo.parent, "/language")
    second = ConsoleChannel(app.session_factory, Router(app.session_factory, app.settings), clock=lambda: now)
    assert texts(second.send(demo.parent, "2")) == "語言已設為 繁體中文。"


def test_stale_and_forged_buttons_are_refused(console: ConsoleChannel, demo) -> None:  # type: ignore[no-untyped-def]
    assert "过期" in texts(console.send(demo.parent, payload="lang:en"))
    assert "过期" in texts(console.send(demo.parent, payload="zz:1:2"))
    console.send(demo.parent, "/language")
    assert "请选择" in texts(console.send(demo.parent, payload="lang:xx"))


def test_dialog_expires_after_a_day_idle(console: ConsoleChannel, demo, now) -> None:  # type: ignore[no-untyped-def]
    console.send(demo.parent, "/language")
    replies = console.send(demo.parent, "2", now=now + timedelta(hours=25))
    assert "繁體" not in texts(replies)


def test_cancel_clears_the_dialog(console: ConsoleChannel, demo) -> None:  # type: ignore[no-untyped-def]
    console.send(demo.parent, "/language")
    assert texts(console.send(demo.parent, "/cancel")) == "已取消。"
    assert texts(console.send(demo.parent, "/cancel")) == "没有需要取消的操作。"


def test_digit_lookalikes_are_not_option_numbers(console: ConsoleChannel, demo) -> None:  # type: ignore[no-untyped-def]
    # "¹" passes str.isdigit() but int() rejects it; the fuzzer found the crash.
    console.send(demo.parent, "/language")
    for text in ("¹", "²³", "①"):
        replies = console.send(demo.parent, text)
        assert "出了点问题" not in texts(replies)
    assert texts(console.send(demo.parent, "٣")) == "Language set to English."
