"""Redeeming an invite code by chat, word for word: the prompt for an empty answer, a wrong code that
keeps the dialog open, the audit row of a binding, the lockout message with its time, and who a bare
code is a binding attempt for."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.core.messages import Reply
from chatbot.people.invites import issue_code
from db.models import AuditLog, ChannelIdentity, DialogState, Person
from db.session import transaction
from tests.conftest import DemoPeople

WRONG = "邀请码不正确。请核对后再试，或发送 /cancel 取消。"
NOT_UNDERSTOOD = "抱歉，我没有看懂。"


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


def issue(app: App, person_id: int, now: datetime) -> str:
    with transaction(app.session_factory) as s:
        person = s.get(Person, person_id)
        assert person is not None
        return issue_code(
            s, person, role="guardian", scope_type=None, scope_id=None, now=now, valid_for=timedelta(days=30)
        )


def test_an_empty_answer_asks_for_the_code_again_and_keeps_waiting(app: App, console: ConsoleChannel) -> None:
    console.send("b-empty", "/start")
    assert dialog_of(app, "b-empty") == ("start", "code")
    assert shown(console.send("b-empty", "")) == [("请输入学校给您的 8 位邀请码。", [])]
    assert dialog_of(app, "b-empty") == ("start", "code")
    assert shown(console.send("b-empty", "   ", lang="en")) == [
        ("Please type the 8-character code from your school.", [])
    ]
    assert dialog_of(app, "b-empty") == ("start", "code")


def test_a_wrong_code_keeps_the_dialog_open_for_the_next_try(app: App, console: ConsoleChannel) -> None:
    console.send("b-wrong", "/start")
    assert shown(console.send("b-wrong", "KKKKKKKK")) == [(WRONG, [])]
    assert dialog_of(app, "b-wrong") == ("start", "code")
    # Still in the dialog: the next line is taken as a code too, not as small talk.
    assert shown(console.send("b-wrong", "hello")) == [(WRONG, [])]
    assert dialog_of(app, "b-wrong") == ("start", "code")


def test_binding_is_audited_with_the_person_and_the_channel(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    code = issue(app, demo.parent, now)
    console.send("b-bind", "/start")
    replies = console.send("b-bind", code)
    assert replies[0].text == "绑定成功！您的身份是：王建国。"
    assert dialog_of(app, "b-bind") is None
    with app.session_factory() as s:
        rows = [
            (a.at, a.actor_person_id, a.action, a.target, a.details)
            for a in s.scalars(select(AuditLog).where(AuditLog.action == "identity.bind"))
        ]
    assert rows == [(now, demo.parent, "identity.bind", f"person:{demo.parent}", {"channel": "console"})]


def test_the_lockout_says_until_when(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    good = issue(app, demo.parent, now)
    console.send("b-lock", "/start", now=now)
    for minute in range(4):
        assert shown(console.send("b-lock", "KKKKKKKK", now=now + timedelta(minutes=minute))) == [(WRONG, [])]
    # The fifth wrong code, at 08:04 in Shanghai, locks the chat for an hour.
    locked: list[tuple[str, list[tuple[str, str]]]] = [("输错次数过多。请在 11月23日 09:04 之后再试。", [])]
    assert shown(console.send("b-lock", "KKKKKKKK", now=now + timedelta(minutes=4))) == locked
    assert shown(console.send("b-lock", good, now=now + timedelta(minutes=30))) == locked
    assert shown(console.send("b-lock", "/start", now=now + timedelta(minutes=40))) == locked
    assert shown(console.send("b-lock", "/start", now=now + timedelta(minutes=41), lang="en")) == [
        ("Too many wrong codes. Please try again after Nov 23, 09:04.", [])
    ]


def test_a_bare_code_starts_binding_only_for_an_unlinked_chat(
    console: ConsoleChannel, demo: DemoPeople
) -> None:
    # An unlinked chat typing something that is not a code is not binding: it gets the menu.
    replies = shown(console.send("b-chat", "hello"))
    assert replies[0] == (NOT_UNDERSTOOD, [])
    assert "/start" in replies[1][0]
    # A linked parent typing something code-shaped is not greeted as if starting over.
    replies = shown(console.send(demo.parent, "KKKKKKKK"))
    assert replies[0] == (NOT_UNDERSTOOD, [])
    assert "/whoami" in replies[1][0]
