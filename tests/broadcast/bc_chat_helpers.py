"""Shared by the test_bc_chat_* tests: people reading in English, replies as plain tuples to compare
whole, notices made through the service, the dialog row, and `bot.py` run in-process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.broadcast.service import NoticeDraft, create_broadcast
from chatbot.broadcast.targets import NoticeTarget
from chatbot.channels.console import ConsoleChannel, person_external_id
from chatbot.cli import main
from chatbot.core.messages import Reply
from chatbot.i18n import use_locale
from db.models import ChannelIdentity, DialogState, Person
from db.session import transaction

Shown = tuple[str, list[list[tuple[str, str]]]]


def set_locale_of(app: App, locale: str, *person_ids: int) -> None:
    with transaction(app.session_factory) as s:
        for person_id in person_ids:
            person = s.get(Person, person_id)
            assert person is not None
            person.locale = locale


def shown(replies: list[Reply]) -> list[Shown]:
    """Each reply as (text, rows of (label, payload)): compare whole replies, buttons included."""
    return [(r.text, [[(b.label, b.payload) for b in row] for row in r.buttons]) for r in replies]


def make_notice(
    app: App,
    sender_id: int,
    target: NoticeTarget,
    texts: dict[str, str],
    now: datetime,
    *,
    base: str = "zh_Hans",
    at: datetime | None = None,
    ack: bool = False,
) -> int:
    with transaction(app.session_factory) as s:
        sender = s.get(Person, sender_id)
        assert sender is not None
        draft = NoticeDraft(target, dict(texts), base_locale=base, at=at, ack=ack)
        return create_broadcast(s, sender, draft, now=now, settings=app.settings).id


def dialog_of(app: App, person_id: int) -> tuple[str, str, dict[str, Any]] | None:
    """(flow, state, data) of this person's console chat, or None when no dialog is open."""
    with app.session_factory() as s:
        row = s.scalars(
            select(DialogState)
            .join(ChannelIdentity, ChannelIdentity.id == DialogState.identity_id)
            .where(
                ChannelIdentity.channel == "console",
                ChannelIdentity.external_id == person_external_id(person_id),
            )
        ).one_or_none()
        return None if row is None else (row.flow, row.state, dict(row.data))


@dataclass
class CliResult:
    code: int
    out: str
    err: str


class BotCli:
    """`bot.py ARGS` through chatbot.cli.main, on the test's database and clock, in a chosen language."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], app: App, now: datetime
    ) -> None:
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        self.now = now
        self.monkeypatch.setenv("DATABASE_URL", app.settings.database_url)

    def __call__(self, *argv: str, locale: str = "en", **env: str) -> CliResult:
        self.monkeypatch.setenv("DEFAULT_LOCALE", locale)
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        with use_locale(locale):
            code = main(list(argv), clock=lambda: self.now)
        out, err = self.capsys.readouterr()
        return CliResult(code, out, err)

    def help(self, *argv: str, locale: str = "en") -> str:
        with pytest.raises(SystemExit) as exit_info:
            self(*argv, "--help", locale=locale)
        assert exit_info.value.code == 0
        out, _err = self.capsys.readouterr()
        return out

    def usage_error(self, *argv: str, locale: str = "en") -> str:
        with pytest.raises(SystemExit) as exit_info:
            self(*argv, locale=locale)
        assert exit_info.value.code == 2
        _out, err = self.capsys.readouterr()
        return err


def to_preview(
    console: ConsoleChannel, who: int, *, scope: str, audience: str, text: str, when: str, ack: str
) -> list[Reply]:
    """Walk /notice with buttons (a typed `when` when it is not now/tomorrow); the preview's replies."""
    console.send(who, "/notice")
    console.send(who, payload=f"ntcs:{scope}")
    console.send(who, payload=f"ntc:a:{audience}")
    console.send(who, text)
    console.send(who, payload="ntc:l:none")
    if when in ("now", "tomorrow"):
        console.send(who, payload=f"ntc:w:{when}")
    else:
        console.send(who, when)
    return console.send(who, payload=f"ntc:k:{ack}")


def send_button(replies: list[Reply]) -> str:
    [send] = [b.payload for b in replies[-1].flat_buttons() if b.payload.startswith("ntcgo:")]
    return send
