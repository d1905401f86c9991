"""Who is talking: the router finds a known chat and its dialog without creating anything, in one
statement on SQLite; PostgreSQL reads the dialog again after the row lock (a statement that waited for
the lock still sees the dialog as it was when it began)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from db.models import ChannelIdentity
from tests.conftest import DemoPeople


@contextmanager
def statements(app: App) -> Iterator[list[str]]:
    """The SQL the app's engine runs inside the block, lower-cased."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.lower().split()))

    event.listen(app.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(app.engine, "before_cursor_execute", record)


def test_a_known_chat_and_its_dialog_are_found_without_creating_anything(
    app: App, console: ConsoleChannel, demo: DemoPeople
) -> None:
    console.send(demo.parent, "/language")
    with statements(app) as seen:
        # The open dialog is found: the picker takes the answer.
        assert [r.text for r in console.send(demo.parent, "3")] == ["Language set to English."]
    dialog_reads = [s for s in seen if s.startswith("select") and "dialog_state" in s]
    assert len(dialog_reads) == (1 if app.engine.dialect.name == "sqlite" else 2)
    assert "channel_identity" in dialog_reads[0]
    assert not [s for s in seen if s.startswith("insert into channel_identity") or s.startswith("savepoint")]


def account(app: App, external_id: str) -> ChannelIdentity:
    with app.session_factory() as s:
        return s.scalars(select(ChannelIdentity).where(ChannelIdentity.external_id == external_id)).one()


def test_a_first_message_creates_an_active_unlinked_account(
    app: App, console: ConsoleChannel, now: datetime
) -> None:
    console.send("guest-new", "/start")  # a reply without buttons
    row = account(app, "guest-new")
    assert (row.channel, row.person_id, row.locale, row.active, row.failed_codes, row.last_buttons) == (
        "console",
        None,
        None,
        True,
        0,
        [],
    )
    assert (row.created_at, row.last_inbound_at) == (now, now)


def test_the_last_inbound_time_moves_only_after_five_minutes(
    app: App, console: ConsoleChannel, now: datetime
) -> None:
    console.send("guest-window", "/help")
    console.send("guest-window", "/help", now=now + timedelta(minutes=5))
    assert account(app, "guest-window").last_inbound_at == now
    later = now + timedelta(minutes=5, seconds=1)
    console.send("guest-window", "/help", now=later)
    assert account(app, "guest-window").last_inbound_at == later


def test_a_chat_marked_inactive_is_active_again_when_it_writes(app: App, console: ConsoleChannel) -> None:
    console.send("guest-blocked", "/help")
    with app.session_factory() as s, s.begin():
        s.scalars(
            select(ChannelIdentity).where(ChannelIdentity.external_id == "guest-blocked")
        ).one().active = False
    console.send("guest-blocked", "/help")
    assert account(app, "guest-blocked").active is True
