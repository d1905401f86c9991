"""The router's gate: a staff command from a parent (or an unbound guest) gets the router's one refusal,
and no flow runs — nothing is written, no dialog is started, an open dialog is left alone."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel, person_external_id
from db.models import ChannelIdentity, DialogState
from tests.conftest import DemoPeople

STAFF_COMMANDS = ["/cases", "/rollcall", "/notice", "/report"]
# The tables a staff flow could write to when it starts; a refused command leaves them as they were.
TOUCHED = ("roll_call", "attendance_record", "dropout_case", "case_event", "broadcast", "outbox", "audit_log")

REFUSALS = {
    # (who, locale): the router's deny_reply, as the person reads it.
    ("parent", None): "抱歉，您没有权限进行此操作。",
    ("parent", "en"): "Sorry, you do not have permission to do that.",
    ("guest", None): "请先绑定账号：发送 /start，再输入学校给您的邀请码。",
    ("guest", "en"): "Please link your account first: send /start and enter the code from your school.",
}


def fingerprint(app: App) -> str:
    with app.session_factory() as s:
        return json.dumps(
            {
                t: [list(map(str, r)) for r in s.execute(text(f"SELECT * FROM {t} ORDER BY 1"))]
                for t in TOUCHED
            },
            ensure_ascii=False,
        )


def dialog_of(app: App, external_id: str) -> tuple[str, str] | None:
    with app.session_factory() as s:
        identity = s.scalars(select(ChannelIdentity).where(ChannelIdentity.external_id == external_id)).one()
        row = s.get(DialogState, identity.id)
        return (row.flow, row.state) if row is not None else None


@pytest.mark.parametrize("command", STAFF_COMMANDS)
@pytest.mark.parametrize(("who", "lang"), sorted(REFUSALS, key=str))
def test_a_staff_command_from_a_non_staff_user_gets_the_one_refusal(
    app: App, console: ConsoleChannel, demo: DemoPeople, command: str, who: str, lang: str | None
) -> None:
    sender: int | str = demo.parent if who == "parent" else "guest-gate"
    external = console.external_id(sender)
    before = fingerprint(app)
    replies = console.send(sender, command, lang=lang)
    assert [r.text for r in replies] == [REFUSALS[(who, lang)]]
    assert not any(r.buttons for r in replies)
    assert dialog_of(app, external) is None
    assert fingerprint(app) == before


@pytest.mark.parametrize("command", STAFF_COMMANDS)
def test_a_refused_command_leaves_the_parents_open_dialog_alone(
    app: App, console: ConsoleChannel, demo: DemoPeople, command: str
) -> None:
    console.send(demo.parent, "/language")
    external = person_external_id(demo.parent)
    open_dialog = dialog_of(app, external)
    assert open_dialog is not None and open_dialog[0] == "language"
    assert [r.text for r in console.send(demo.parent, command)] == [REFUSALS[("parent", None)]]
    assert dialog_of(app, external) == open_dialog
    # The language picker is still waiting for its answer.
    assert [r.text for r in console.send(demo.parent, "3")] == ["Language set to English."]
