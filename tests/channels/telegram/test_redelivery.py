"""An update Telegram delivers again (same update_id) is answered once, across a restart too."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from chatbot.app import App
from chatbot.channels.telegram.updates import DEDUPE_KEEP, claim, purge
from db.models import ProcessedUpdate
from tests.channels.telegram.conftest import start_bot, telegram_app
from tests.channels.telegram.fake_bot_api import FakeBotApi

CHAT = 5101


def language_asked(fake: FakeBotApi) -> bool:
    """The answer to /language (its buttons) has been sent."""
    return any(
        b["callback_data"].startswith("lang:") for c in fake.sent(CHAT) for row in c.keyboard for b in row
    )


def keys(app: App) -> int:
    with app.session_factory() as s:
        query = select(func.count()).select_from(ProcessedUpdate).where(ProcessedUpdate.channel == "telegram")
        return int(s.scalar(query) or 0)


async def test_an_update_served_twice_gets_one_answer(app: App, fake: FakeBotApi, now: datetime) -> None:
    running = await start_bot(telegram_app(app, fake), fake, now)
    try:
        update = fake.inject_message(CHAT, "/help")
        fake.redeliver(update)  # twice in one batch
        await fake.wait_for(lambda: len(fake.sent(CHAT)) >= 1)
        fake.redeliver(update)  # and again after its offset was confirmed
        # Updates of one chat run in order: once the next message is answered, both copies were seen.
        fake.inject_message(CHAT, "/language")
        await fake.wait_for(lambda: language_asked(fake))
    finally:
        await running.shutdown()
    texts = [call.text for call in fake.sent(CHAT)]
    assert len(texts) == 2 and "/start" in texts[0]


async def test_a_redelivery_after_a_restart_is_not_answered(
    app: App, fake: FakeBotApi, now: datetime
) -> None:
    running = await start_bot(telegram_app(app, fake), fake, now)
    update = fake.inject_message(CHAT, "/help")
    await fake.wait_for(lambda: len(fake.sent(CHAT)) >= 1)
    await running.shutdown()
    running = await start_bot(telegram_app(app, fake), fake, now)
    try:
        fake.redeliver(update)
        fake.inject_message(CHAT, "/language")
        await fake.wait_for(lambda: language_asked(fake))
    finally:
        await running.shutdown()
    assert len(fake.sent(CHAT)) == 2


def test_old_update_ids_are_purged(app: App, now: datetime) -> None:
    assert claim(app.session_factory, 1, now - DEDUPE_KEEP - timedelta(minutes=1))
    assert claim(app.session_factory, 2, now)
    assert not claim(app.session_factory, 2, now)
    assert purge(app.session_factory, now) == 1
    assert keys(app) == 1
