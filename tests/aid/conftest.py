from __future__ import annotations

from collections.abc import Iterator

import pytest

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel, render_reply
from tests.conftest import MONDAY_8AM, DatabaseFactory, _make_app


def transcript(console: ConsoleChannel, who: int | str, *lines: str, lang: str | None = None) -> str:
    """What a console user sees: each line typed, then every reply with its numbered options."""
    out = []
    for line in lines:
        out.append(f"> {line}")
        out += [render_reply(reply) for reply in console.send(who, line, lang=lang)]
    return "\n".join(out)


@pytest.fixture(scope="package")
def shared_app(databases: DatabaseFactory) -> Iterator[App]:
    """One demo database for tests that only read it or chat as distinct guests (cloning is slow on PostgreSQL)."""
    yield from _make_app(databases, seeded=True, now=MONDAY_8AM)


@pytest.fixture
def guest_console(shared_app: App) -> ConsoleChannel:
    return ConsoleChannel(shared_app.session_factory, shared_app.router, clock=lambda: MONDAY_8AM)
