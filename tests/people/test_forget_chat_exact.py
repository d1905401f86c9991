"""/forget word for word: the question with its two buttons, every way of not confirming, and a confirmed
unlink (audit row, exactly which outbox rows are cancelled, the chat's language choice cleared), in
Chinese and English, plus the step's own answer for a chat that is linked to nobody."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from chatbot.app import App
from chatbot.channels.console import CONSOLE_CAPS, ConsoleChannel, person_external_id
from chatbot.core.context import Context
from chatbot.core.messages import Incoming, Reply
from chatbot.delivery.outbox import enqueue_for_person
from chatbot.i18n import use_locale
from chatbot.people.forget import ask_forget
from db.models import AuditLog, ChannelIdentity, DialogState, OutboxMessage, OutboxStatus, Person
from db.session import transaction
from tests.conftest import DemoPeople

QUESTION = "确定解除此聊天与 王建国 的绑定吗？解除后这里将不再收到学校消息。"
BUTTONS = [("确定解除", "fgt:1"), ("不了", "fgt:0")]
NOTHING: list[tuple[str, list[tuple[str, str]]]] = [("没有做任何更改。", [])]


def shown(replies: list[Reply]) -> list[tuple[str, list[tuple[str, str]]]]:
    return [(r.text, [(b.label, b.payload) for b in r.flat_buttons()]) for r in replies]


def identity_of(app: App, person_id: int) -> tuple[int | None, str | None]:
    with app.session_factory() as s:
        identity = s.scalars(
            select(ChannelIdentity).where(ChannelIdentity.external_id == person_external_id(person_id))
        ).one()
        return identity.person_id, identity.locale


def audit_rows(app: App) -> list[tuple[datetime, int | None, str, str | None, dict[str, object]]]:
    with app.session_factory() as s:
        return [
            (a.at, a.actor_person_id, a.action, a.target, a.details)
            for a in s.scalars(select(AuditLog).where(AuditLog.action == "identity.forget"))
        ]


def test_anything_but_yes_changes_nothing(app: App, console: ConsoleChannel, demo: DemoPeople) -> None:
    parent = demo.parent
    assert shown(console.send(parent, "/forget")) == [(QUESTION, BUTTONS)]
    assert shown(console.send(parent, "2")) == NOTHING
    # A typed answer is not a yes either.
    assert shown(console.send(parent, "/forget")) == [(QUESTION, BUTTONS)]
    assert shown(console.send(parent, "也许吧")) == NOTHING
    # Nor is a forged button of this flow: the router refuses it, and "no" still changes nothing.
    assert shown(console.send(parent, "/forget")) == [(QUESTION, BUTTONS)]
    assert shown(console.send(parent, payload="fgt:yes")) == [("这个按钮已失效。发送 /help 重新开始。", [])]
    assert shown(console.send(parent, payload="fgt:0")) == NOTHING
    assert identity_of(app, parent) == (parent, None)
    assert audit_rows(app) == []
    assert console.send(parent, "/whoami")[0].text.startswith("您已绑定为 王建国。")


def test_yes_unlinks_cancels_only_this_chats_queued_messages_and_forgets_its_language(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    parent, teacher = demo.parent, demo.teacher
    for who in (parent, teacher):
        console.send(who, "/whoami")  # makes the chat accounts
    with transaction(app.session_factory) as s:
        mine_queued = enqueue_for_person(
            s, s.get_one(Person, parent), lambda: Reply("明天放假"), kind="test", now=now
        )[0]
        mine_sent = enqueue_for_person(
            s, s.get_one(Person, parent), lambda: Reply("今天开会"), kind="test", now=now
        )[0]
        mine_sent.status = OutboxStatus.SENT
        theirs = enqueue_for_person(
            s, s.get_one(Person, teacher), lambda: Reply("通知"), kind="test", now=now
        )[0]
        s.flush()
        ids = (mine_queued.id, mine_sent.id, theirs.id)
        for identity in s.scalars(select(ChannelIdentity).where(ChannelIdentity.person_id == parent)):
            identity.locale = "zh_Hans"
    assert shown(console.send(parent, "/forget")) == [(QUESTION, BUTTONS)]
    with app.session_factory() as s:
        assert [tuple(row) for row in s.execute(select(DialogState.flow, DialogState.state))] == [
            ("forget", "confirm")
        ]
    assert shown(console.send(parent, "1")) == [("已解除绑定。如需重新绑定，请发送 /start。", [])]
    assert identity_of(app, parent) == (None, None)
    assert audit_rows(app) == [(now, parent, "identity.forget", f"person:{parent}", {"channel": "console"})]
    with app.session_factory() as s:
        statuses = [s.get_one(OutboxMessage, i).status for i in ids]
        assert statuses == [OutboxStatus.CANCELLED, OutboxStatus.SENT, OutboxStatus.QUEUED]
        # The person stays; only this chat was unlinked.
        assert s.get_one(Person, parent).name == "王建国"


def test_forget_in_english(app: App, console: ConsoleChannel, demo: DemoPeople) -> None:
    teacher = demo.teacher
    console.send(teacher, "/whoami")
    with transaction(app.session_factory) as s:
        s.scalars(select(ChannelIdentity).where(ChannelIdentity.person_id == teacher)).one().locale = "en"
    question = (
        "Unlink this chat from 李芳? You will stop receiving school messages here.",
        [("Yes, unlink", "fgt:1"), ("No", "fgt:0")],
    )
    assert shown(console.send(teacher, "/forget")) == [question]
    assert shown(console.send(teacher, "2")) == [("Nothing changed.", [])]
    assert shown(console.send(teacher, "/forget")) == [question]
    assert shown(console.send(teacher, "1")) == [
        ("Done. This chat is no longer linked. Send /start to link again.", [])
    ]
    assert identity_of(app, teacher) == (None, None)


def test_the_question_step_answers_a_chat_linked_to_nobody(app: App, now: datetime) -> None:
    """The router only offers /forget to linked chats; the step itself still answers an unlinked one."""
    with transaction(app.session_factory) as s:
        identity = ChannelIdentity(
            channel="console",
            external_id="nobody",
            active=True,
            failed_codes=0,
            last_buttons=[],
            created_at=now,
        )
        s.add(identity)
        s.flush()
        for locale, expected in [
            ("zh_Hans", "此聊天没有绑定任何人。"),
            ("en", "This chat is not linked to anyone."),
        ]:
            incoming = Incoming(channel="console", external_id="nobody", text="/forget")
            ctx = Context(
                session=s,
                now=now,
                identity=identity,
                person=None,
                settings=app.settings,
                caps=CONSOLE_CAPS,
                incoming=incoming,
                locale=locale,
            )
            with use_locale(locale):
                outcome = ask_forget(ctx, incoming)
            assert (shown(outcome.replies), outcome.next_state) == ([(expected, [])], None)
