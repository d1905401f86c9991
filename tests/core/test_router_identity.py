"""Who is talking: the router finds a known chat and its dialog without creating anything, in one
statement on SQLite; PostgreSQL reads the dialog again after the row lock (a statement that waited for
the lock still sees the dialog as it was when it began)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.core.context import Dialog
from chatbot.core.dialogs import resolve_identity
from chatbot.core.messages import Incoming
from db.models import ChannelIdentity, DialogState
from db.session import make_engine, transaction
from tests.conftest import PG_URL, DemoPeople


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


@pytest.mark.skipif(not PG_URL, reason="SQLite takes the write lock at BEGIN: two first messages never race")
def test_a_chat_another_update_created_a_moment_ago_is_taken_not_duplicated(app: App) -> None:
    """Two first messages from a new chat at once (PostgreSQL): the second finds the first's account
    and the dialog the first one left, instead of writing a second dialog row."""
    now = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    incoming = Incoming(channel="console", external_id="first-contact-race", text="/help")
    other = make_engine(app.settings.database_url)
    created: list[int] = []

    def create_elsewhere(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # Right after this update looked the chat up and found nothing, another one creates it.
        if created or "from channel_identity" not in statement.lower():
            return
        with other.begin() as conn:
            created.append(
                conn.execute(
                    insert(ChannelIdentity)
                    .values(
                        channel="console",
                        external_id="first-contact-race",
                        active=True,
                        failed_codes=0,
                        last_buttons=[],
                        created_at=now,
                    )
                    .returning(ChannelIdentity.id)
                ).scalar_one()
            )
            conn.execute(
                insert(DialogState).values(
                    identity_id=created[0], flow="language", state="pick", data={"n": 1}, updated_at=now
                )
            )

    event.listen(app.engine, "after_cursor_execute", create_elsewhere)
    try:
        with transaction(app.session_factory) as session:
            identity, dialog = resolve_identity(session, incoming, now)
            assert (identity.id, identity.active, identity.last_inbound_at) == (created[0], True, now)
            assert dialog == Dialog("language", "pick", {"n": 1}, now)
    finally:
        event.remove(app.engine, "after_cursor_execute", create_elsewhere)
        other.dispose()
    with app.session_factory() as session:
        found = session.scalars(
            select(ChannelIdentity.id).where(ChannelIdentity.external_id == "first-contact-race")
        ).all()
    assert found == created
