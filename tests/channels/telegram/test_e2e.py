"""The real PTB Application polling the fake Bot API, with the real database, end to end."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.channels.telegram import handlers
from chatbot.core.domains import default_registry
from chatbot.core.flow import Entry, Flow, On, Registry, State, say
from chatbot.core.messages import Button, Incoming
from chatbot.core.payloads import Payload
from chatbot.core.router import DatabaseBusy, Router
from chatbot.people.invites import issue_code
from db.models import ChannelIdentity, Person
from db.session import transaction
from tests.channels.telegram.conftest import RunningBot, start_bot, telegram_app
from tests.channels.telegram.fake_bot_api import FakeBotApi

PARENT_CHAT = 5001


def identity(app: App, chat_id: int) -> ChannelIdentity | None:
    with app.session_factory() as s:
        found = s.scalars(
            select(ChannelIdentity).where(
                ChannelIdentity.channel == "telegram", ChannelIdentity.external_id == str(chat_id)
            )
        ).one_or_none()
        if found is not None:
            s.expunge(found)
        return found


async def replies_after(fake: FakeBotApi, chat_id: int, count: int) -> list[str]:
    await fake.wait_for(lambda: len(fake.sent(chat_id)) >= count)
    return [call.text for call in fake.sent(chat_id)]


async def test_binding_with_an_invite_code(bot: RunningBot, fake: FakeBotApi, demo, now: datetime) -> None:  # type: ignore[no-untyped-def]
    with transaction(bot.app.session_factory) as s:
        parent = s.get(Person, demo.parent)
        assert parent is not None
        code = issue_code(
            s, parent, role="parent", scope_type=None, scope_id=None, now=now, valid_for=timedelta(days=7)
        )
    fake.inject_message(PARENT_CHAT, "/start")
    assert "K7MX4QPA" in (await replies_after(fake, PARENT_CHAT, 1))[0]
    fake.inject_message(PARENT_CHAT, code.lower())
    texts = await replies_after(fake, PARENT_CHAT, 3)
    assert "王建国" in texts[1]
    found = identity(bot.app, PARENT_CHAT)
    assert found is not None and found.person_id == demo.parent and found.active
    # The help that follows binding is an inline keyboard of one-tap flow starts.
    help_call = fake.sent(PARENT_CHAT)[-1]
    payloads = [b["callback_data"] for row in help_call.keyboard for b in row]
    assert payloads and all(p.startswith("go:") for p in payloads)


async def test_command_menu_is_registered_per_language(bot: RunningBot, fake: FakeBotApi) -> None:
    menus = {
        call.params.get("language_code"): call.params["commands"] for call in fake.called("setMyCommands")
    }
    assert set(menus) == {None, "zh", "en"}
    english = {c["command"]: c["description"] for c in menus["en"]}
    chinese = {c["command"]: c["description"] for c in menus["zh"]}
    assert english["start"] == "link your account"
    assert chinese["start"] != english["start"]
    assert menus[None] == menus["zh"]  # the default locale is Simplified Chinese


async def test_language_buttons_answer_the_query_and_switch_language(
    bot: RunningBot, fake: FakeBotApi
) -> None:
    fake.inject_message(PARENT_CHAT, "/language", language_code="zh-hans")
    await replies_after(fake, PARENT_CHAT, 1)
    keyboard = fake.sent(PARENT_CHAT)[0].keyboard
    assert [[b["callback_data"] for b in row] for row in keyboard] == [
        ["lang:zh_Hans"],
        ["lang:zh_Hant"],
        ["lang:en"],
    ]
    update = fake.inject_callback(PARENT_CHAT, "lang:en")
    texts = await replies_after(fake, PARENT_CHAT, 2)
    assert texts[1] == "Language set to English."
    answered = [c.params["callback_query_id"] for c in fake.called("answerCallbackQuery")]
    assert answered == [update["callback_query"]["id"]]
    # The keyboard stays (no extra API call against the flood limit); a second press is refused politely.
    fake.inject_callback(
        PARENT_CHAT, "lang:zh_Hant", message_id=update["callback_query"]["message"]["message_id"]
    )
    assert "expired" in (await replies_after(fake, PARENT_CHAT, 3))[2]
    fake.inject_message(PARENT_CHAT, "/whoami", language_code="zh-hans")
    assert "not linked" in (await replies_after(fake, PARENT_CHAT, 4))[3]
    found = identity(bot.app, PARENT_CHAT)
    assert found is not None and found.locale == "en"


def _counter_registry() -> Registry:
    """The default flows plus a toggle flow that edits its own message, like roll-call does.
    Call it with a private copy of Payload.registry in place: its button class must not outlive the test."""

    @dataclass(frozen=True)
    class CountAdd(Payload, prefix="tgcnt"):
        what: str

    def show(ctx, msg):  # type: ignore[no-untyped-def]
        ctx.data["n"] = 0
        return say("count 0", [Button("+1", CountAdd("add").pack())], then="counting")

    def add(ctx, msg, pressed):  # type: ignore[no-untyped-def]
        ctx.data["n"] = int(ctx.data.get("n", 0)) + 1
        return say(
            f"count {ctx.data['n']}", [Button("+1", CountAdd("add").pack())], then="counting", edit=True
        )

    registry = Registry(flows=dict(default_registry().flows), actions=dict(default_registry().actions))
    counting = State(buttons=[On(CountAdd, add)], goes_to=("counting",))
    registry.add_flow(
        Flow.create(
            "tgcount", Entry(show, goes_to=("counting",)), {"counting": counting}, commands=("tgcount",)
        )
    )
    return registry


async def test_edit_replies_replace_the_pressed_message(
    app: App, fake: FakeBotApi, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Payload, "registry", dict(Payload.registry))
    tg_app = telegram_app(app, fake)
    tg_app.__dict__["router"] = Router(tg_app.session_factory, tg_app.settings, _counter_registry())
    running = await start_bot(tg_app, fake, now)
    try:
        fake.inject_message(PARENT_CHAT, "/tgcount")
        await replies_after(fake, PARENT_CHAT, 1)
        for expected in (1, 2):
            fake.inject_callback(PARENT_CHAT, "tgcnt:add")
            await fake.wait_for(lambda e=expected: len(fake.sent(PARENT_CHAT, ("editMessageText",))) >= e)  # type: ignore[misc]
        edits = fake.sent(PARENT_CHAT, ("editMessageText",))
        assert [e.text for e in edits] == ["count 1", "count 2"]
        assert {e.params["message_id"] for e in edits} == {fake.sent(PARENT_CHAT)[0].result["message_id"]}
        assert len(fake.sent(PARENT_CHAT)) == 1  # no new messages
        assert edits[-1].keyboard == [[{"text": "+1", "callback_data": "tgcnt:add"}]]
    finally:
        await running.shutdown()


async def test_a_reply_rejected_by_the_api_does_not_stop_the_bot(
    bot: RunningBot, fake: FakeBotApi, caplog
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO)
    fake.fail("sendMessage", 400, chat_id=PARENT_CHAT, description="Bad Request: can't parse entities")
    fake.inject_message(PARENT_CHAT, "/help my private words")
    texts = await replies_after(fake, PARENT_CHAT, 1)
    assert "出错" in texts[0]  # the apology, in the user's language
    fake.inject_message(PARENT_CHAT, "/help")
    assert "/start" in (await replies_after(fake, PARENT_CHAT, 2))[1]
    assert "my private words" not in caplog.text
    assert "BadRequest" in caplog.text


async def test_server_errors_on_replies_are_retried(bot: RunningBot, fake: FakeBotApi) -> None:
    fake.fail("sendMessage", 500, times=1, chat_id=PARENT_CHAT)
    fake.fail("sendMessage", 502, times=1, chat_id=PARENT_CHAT)
    fake.inject_message(PARENT_CHAT, "/help")
    texts = await replies_after(fake, PARENT_CHAT, 1)
    assert "/start" in texts[0]
    assert [c.status for c in fake.called("sendMessage")] == [500, 502, 200]


async def test_rate_limited_replies_wait_for_retry_after(bot: RunningBot, fake: FakeBotApi) -> None:
    fake.fail("sendMessage", 429, times=1, retry_after=1, chat_id=PARENT_CHAT)
    fake.inject_message(PARENT_CHAT, "/help")
    await replies_after(fake, PARENT_CHAT, 1)
    assert [c.status for c in fake.called("sendMessage")] == [429, 200]


async def test_a_blocked_chat_is_marked_inactive(bot: RunningBot, fake: FakeBotApi) -> None:
    fake.inject_message(PARENT_CHAT, "/help")
    await replies_after(fake, PARENT_CHAT, 1)
    fake.block(PARENT_CHAT)
    fake.inject_message(PARENT_CHAT, "/help")
    await fake.wait_for(lambda: any(c.status == 403 for c in fake.called("sendMessage")))
    await fake.wait_for(lambda: not identity(bot.app, PARENT_CHAT).active)  # type: ignore[union-attr]
    other = 5002
    fake.inject_message(other, "/help")
    assert await replies_after(fake, other, 1)


async def test_groups_only_get_a_pointer_to_a_private_chat(bot: RunningBot, fake: FakeBotApi, demo) -> None:  # type: ignore[no-untyped-def]
    group = -100777
    fake.inject_message(group, "hello everyone", chat_type="supergroup", user_id=PARENT_CHAT)
    fake.inject_message(group, "/whoami@another_bot", chat_type="supergroup", user_id=PARENT_CHAT)
    fake.inject_message(group, "/whoami@jiaxiao_test_bot", chat_type="supergroup", user_id=PARENT_CHAT)
    fake.inject_message(group, "/aid", chat_type="supergroup", user_id=PARENT_CHAT, language_code="en")
    texts = await replies_after(fake, group, 2)
    await fake.wait_for(lambda: fake.pending_updates() == 0)
    assert len(fake.sent(group)) == 2
    assert "私聊" in texts[0]
    assert "private chat" in texts[1]
    assert fake.sent(group)[0].keyboard == [[{"text": "私聊我", "url": "https://t.me/jiaxiao_test_bot"}]]
    with bot.app.session_factory() as s:
        assert s.scalars(select(ChannelIdentity).where(ChannelIdentity.channel == "telegram")).all() == []


def test_commands_addressed_to_the_bot() -> None:
    cases = {
        "/help": True,
        "/help@Jiaxiao_Test_Bot": True,
        "/help@jiaxiao_test_bot please": True,
        "/help@other_bot": False,
        "help": False,
        "": False,
    }
    for text, expected in cases.items():
        assert handlers.addressed_to(text, "jiaxiao_test_bot") is expected, text


def test_self_hosted_api_urls() -> None:
    for given in ("http://tg.local:8081", "http://tg.local:8081/", "http://tg.local:8081/bot"):
        assert handlers.api_urls(given) == ("http://tg.local:8081/bot", "http://tg.local:8081/file/bot")


async def test_polling_survives_bot_api_outages(bot: RunningBot, fake: FakeBotApi) -> None:
    fake.fail("getUpdates", 502, times=1)
    await fake.wait_for(lambda: any(c.status == 502 for c in fake.called("getUpdates")))
    fake.inject_message(PARENT_CHAT, "/help")
    assert "/start" in (await replies_after(fake, PARENT_CHAT, 1))[0]


@contextlib.contextmanager
def lock_held_elsewhere(app: App, chat_id: int) -> Iterator[None]:
    """Another connection holds what an update from this chat needs: SQLite's write lock, or
    (PostgreSQL) the chat account's row, as a roster import or another worker process would."""
    with app.engine.connect() as connection, connection.begin():
        connection.execute(
            select(ChannelIdentity.id)
            .where(ChannelIdentity.channel == "telegram", ChannelIdentity.external_id == str(chat_id))
            .with_for_update()
        )
        yield


async def test_a_locked_database_is_waited_for_off_the_event_loop(
    app: App, fake: FakeBotApi, now: datetime
) -> None:
    """The router runs on the event loop only when it need not wait for a lock."""
    running = await start_bot(telegram_app(app, fake), fake, now)
    try:
        fake.inject_message(PARENT_CHAT, "/help")
        await replies_after(fake, PARENT_CHAT, 1)
        with lock_held_elsewhere(app, PARENT_CHAT):
            fake.inject_message(PARENT_CHAT, "/whoami")
            await fake.wait_for(lambda: fake.pending_updates() == 0)  # the bot has taken the update
            started = time.monotonic()
            for _ in range(40):
                await asyncio.sleep(0.01)
            # The loop kept running while the update waited for the lock (had it waited on the
            # loop, these 40 short sleeps would have lasted until the lock was released).
            assert time.monotonic() - started < 2.0
            assert len(fake.sent(PARENT_CHAT)) == 1
        texts = await replies_after(fake, PARENT_CHAT, 2)
        assert "/start" in texts[1]  # /whoami for an unlinked chat, answered once the lock went
    finally:
        await running.shutdown()


def test_no_wait_routing_refuses_instead_of_waiting_and_changes_nothing(app: App, now: datetime) -> None:
    router = app.router
    assert router.can_try_without_waiting
    first = Incoming(channel="telegram", external_id="777", text="/language")
    router.handle(first, now, handlers.TELEGRAM_CAPS)
    pressed = Incoming(channel="telegram", external_id="777", payload="lang:en")
    with lock_held_elsewhere(app, 777), pytest.raises(DatabaseBusy):
        router.handle(pressed, now, handlers.TELEGRAM_CAPS, no_wait=True)
    found = identity(app, 777)
    assert found is not None and found.locale is None  # nothing was written
    assert (
        router.handle(pressed, now, handlers.TELEGRAM_CAPS, no_wait=True)[0].text
        == "Language set to English."
    )
    found = identity(app, 777)
    assert found is not None and found.locale == "en"
