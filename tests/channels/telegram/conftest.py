"""Fixtures: the fake Bot API server, and the real PTB Application polling it with the real database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from chatbot.app import App
from chatbot.channels.telegram import runtime
from chatbot.channels.telegram.handlers import build_application
from chatbot.channels.telegram.sender import TelegramSender
from tests.channels.telegram.fake_bot_api import FakeBotApi
from tests.loopback import free_port


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


def telegram_app(app: App, fake: FakeBotApi, **overrides: Any) -> App:
    """The test database's App with Telegram pointed at the fake (as TELEGRAM_BASE_URL would)."""
    settings = app.settings.model_copy(
        update={"telegram_token": fake.token, "telegram_base_url": fake.base_url, **overrides}
    )
    return App(settings, _engine=app.engine, clock=app.clock)


@dataclass
class RunningBot:
    app: App
    fake: FakeBotApi
    stop: asyncio.Event
    task: asyncio.Task[None]

    async def shutdown(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 15)


async def start_bot(app: App, fake: FakeBotApi, now: datetime, *, ready: str = "getUpdates") -> RunningBot:
    stop = asyncio.Event()
    task = asyncio.create_task(runtime.serve(app, stop, clock=lambda: now, poll_timeout=1, max_retries=1))
    await fake.wait_for(lambda: bool(fake.called(ready)) or task.done())
    if task.done():
        task.result()
    return RunningBot(app, fake, stop, task)


async def start_webhook_bot(app: App, fake: FakeBotApi, now: datetime, secret: str) -> tuple[RunningBot, str]:
    """The bot in webhook mode behind a (pretend) reverse proxy; returns it and its local hook URL."""
    port = free_port()
    settings = {
        "webhook_url": "https://bot.example.org/tg/hook",
        "webhook_secret": secret,
        "webhook_listen": "127.0.0.1",
        "webhook_port": port,
    }
    running = await start_bot(telegram_app(app, fake, **settings), fake, now, ready="setWebhook")
    return running, f"http://127.0.0.1:{port}/tg/hook"


@pytest.fixture
async def bot(app: App, fake: FakeBotApi, now: datetime) -> AsyncIterator[RunningBot]:
    running = await start_bot(telegram_app(app, fake), fake, now)
    yield running
    await running.shutdown()


@pytest.fixture
async def sender(app: App, fake: FakeBotApi) -> AsyncIterator[TelegramSender]:
    """A Sender on a bot that is not polling (PTB's 429 retries set to one, to keep tests short)."""
    application = build_application(telegram_app(app, fake), max_retries=1)
    yield TelegramSender(application.bot)
    await application.bot.shutdown()
