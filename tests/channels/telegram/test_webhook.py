"""Webhook mode: PTB's webhook server behind the secret token, with setWebhook on the fake Bot API."""

from __future__ import annotations

from datetime import datetime

import aiohttp
from sqlalchemy import select

from chatbot.app import App
from chatbot.channels.telegram.runtime import check_settings
from db.models import ChannelIdentity
from tests.channels.telegram.conftest import start_webhook_bot
from tests.channels.telegram.fake_bot_api import FakeBotApi

SECRET = "right-secret_0123"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def test_only_requests_with_the_secret_token_are_processed(
    app: App, fake: FakeBotApi, now: datetime
) -> None:
    running, url = await start_webhook_bot(app, fake, now, SECRET)
    try:
        assert fake.webhook == {"url": "https://bot.example.org/tg/hook", "secret_token": SECRET}
        assert not fake.called("getUpdates")
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {HEADER: "wrong"}, {HEADER: SECRET.upper()}):
                async with http.post(
                    url, json=fake.message_update(7001, "/help"), headers=headers
                ) as response:
                    assert response.status == 403
            async with http.post(
                url, json=fake.message_update(7002, "/help"), headers={HEADER: SECRET}
            ) as response:
                assert response.status == 200
        await fake.wait_for(lambda: bool(fake.sent(7002)))
        assert "/start" in fake.sent(7002)[0].text
        assert fake.sent(7001) == []
        with app.session_factory() as s:
            chats = s.scalars(
                select(ChannelIdentity.external_id).where(ChannelIdentity.channel == "telegram")
            ).all()
        assert chats == ["7002"]
    finally:
        await running.shutdown()


def test_webhook_settings_are_checked(app: App) -> None:
    base = {"telegram_token": "1:x"}
    cases = {
        "http://bot.example.org/hook": "https",
        "https://bot.example.org/hook": None,
    }
    for url, problem in cases.items():
        found = check_settings(app.settings.model_copy(update={**base, "webhook_url": url}))
        assert (found is None) if problem is None else (problem in (found or "")), url
    bad_secret = app.settings.model_copy(
        update={**base, "webhook_url": "https://b.example/h", "webhook_secret": "a b"}
    )
    assert "WEBHOOK_SECRET" in (check_settings(bad_secret) or "")
    assert "TELEGRAM_TOKEN" in (check_settings(app.settings) or "")
