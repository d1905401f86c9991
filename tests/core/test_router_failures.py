"""The router when an update fails, and the sessions it runs on: an unhandled exception rolls the whole
update back and apologises in the sender's language; `no_wait` runs on the no-wait sessions and turns
only a lock timeout into DatabaseBusy; a registry without a help flow still answers.

The failing update comes from the router's own check: a flow that moves to a state it never declared.
"""

from __future__ import annotations

import logging
from datetime import datetime

import pytest
from sqlalchemy import func, select

from chatbot.app import App
from chatbot.channels.console import CONSOLE_CAPS, ConsoleChannel
from chatbot.core.context import Context
from chatbot.core.flow import Entry, Flow, Outcome, Registry, State
from chatbot.core.messages import Incoming, Reply
from chatbot.core.router import DatabaseBusy, Router
from db.models import ChannelIdentity, DialogState
from tests.conftest import make_settings

APOLOGY = {
    "zh_Hans": "抱歉，出了点问题，没有保存任何内容。请再试一次。",
    "en": "Sorry, something went wrong. Nothing was saved. Please try again.",
}


def _lost(ctx: Context, msg: Incoming) -> Outcome:
    return Outcome([Reply("on my way")], "nowhere")


def broken_registry() -> Registry:
    """One flow, /lost, whose entry moves to a state its table does not declare."""
    registry = Registry()
    table = {"here": State(text=_lost, goes_to=("here",))}
    registry.add_flow(Flow.create("lost", Entry(_lost, goes_to=("here",)), table, commands=("lost",)))
    return registry


def identities(app: App, external_id: str) -> int:
    with app.session_factory() as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(ChannelIdentity)
                .where(ChannelIdentity.external_id == external_id)
            )
            or 0
        )


@pytest.mark.parametrize(("hint", "locale"), [(None, "zh_Hans"), ("en-US", "en")])
def test_a_failed_update_is_rolled_back_with_an_apology_in_the_senders_language(
    app: App, now: datetime, caplog: pytest.LogCaptureFixture, hint: str | None, locale: str
) -> None:
    console = ConsoleChannel(
        app.session_factory, Router(app.session_factory, app.settings, broken_registry()), clock=app.clock
    )
    replies = console.send("guest-lost", "/lost", lang=hint)
    assert [(r.text, r.buttons) for r in replies] == [(APOLOGY[locale], [])]
    # Nothing was saved: not even the chat account its first message created.
    assert identities(app, "guest-lost") == 0
    failures = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "chatbot.core.router"]
    assert len(failures) == 1
    assert "ValueError: flow lost: the table does not allow a move to 'nowhere'" in (
        failures[0].exc_text or ""
    )


def test_a_failed_update_without_a_hint_apologises_in_the_bots_default_language(app: App) -> None:
    english = App(make_settings(app.settings.database_url, default_locale="en"), clock=app.clock)
    try:
        router = Router(english.session_factory, english.settings, broken_registry())
        replies = router.handle(Incoming("console", "guest-default", text="/lost"), app.clock(), CONSOLE_CAPS)
        assert [r.text for r in replies] == [APOLOGY["en"]]
    finally:
        english.engine.dispose()


def test_a_failure_that_is_no_lock_timeout_apologises_even_without_waiting(app: App) -> None:
    assert app.no_wait_session_factory is not None
    router = Router(
        app.session_factory, app.settings, broken_registry(), no_wait_factory=app.no_wait_session_factory
    )
    replies = router.handle(
        Incoming("console", "guest-hurry", text="/lost"), app.clock(), CONSOLE_CAPS, no_wait=True
    )
    assert [r.text for r in replies] == [APOLOGY["zh_Hans"]]
    assert identities(app, "guest-hurry") == 0


def test_an_update_that_would_wait_for_a_lock_raises_database_busy_and_changes_nothing(
    app: App, now: datetime
) -> None:
    chat = Incoming("console", "guest-locked", text="/language")
    app.router.handle(Incoming("console", "guest-locked", text="/help"), now, CONSOLE_CAPS)
    with app.engine.connect() as other, other.begin():
        # Another connection holds the chat's row (SQLite: its BEGIN IMMEDIATE holds the write lock).
        other.execute(
            select(ChannelIdentity.id).where(ChannelIdentity.external_id == "guest-locked").with_for_update()
        )
        with pytest.raises(DatabaseBusy):
            app.router.handle(chat, now, CONSOLE_CAPS, no_wait=True)
    with app.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(DialogState)) == 0
    # Once the lock is gone, the same update goes through.
    assert [r.text for r in app.router.handle(chat, now, CONSOLE_CAPS, no_wait=True)] == ["请选择语言："]


def test_an_update_without_waiting_runs_on_the_no_wait_sessions(app: App, empty_app: App) -> None:
    assert app.router.can_try_without_waiting
    assert not Router(app.session_factory, app.settings).can_try_without_waiting
    # Two databases tell the sessions apart: the no-wait ones here write to the empty one.
    router = Router(app.session_factory, app.settings, no_wait_factory=empty_app.session_factory)
    assert router.can_try_without_waiting
    router.handle(Incoming("console", "guest-nowait", text="/help"), app.clock(), CONSOLE_CAPS, no_wait=True)
    router.handle(Incoming("console", "guest-waits", text="/help"), app.clock(), CONSOLE_CAPS)
    assert (identities(empty_app, "guest-nowait"), identities(app, "guest-nowait")) == (1, 0)
    assert (identities(empty_app, "guest-waits"), identities(app, "guest-waits")) == (0, 1)


def test_without_a_help_flow_unknown_text_points_at_help(app: App) -> None:
    console = ConsoleChannel(
        app.session_factory, Router(app.session_factory, app.settings, broken_registry()), clock=app.clock
    )
    for text in ("hello", "", "/nosuchcommand"):
        assert [(r.text, r.buttons) for r in console.send("guest-nohelp", text)] == [
            ("发送 /help 查看我能做什么。", [])
        ]
