"""Update throughput of the Telegram channel against a bare PTB echo bot, on one fake Bot API server.

    .venv/bin/python bench/bench_telegram.py [--updates 5000] [--chats 100]

Both bots long-poll the same fake Bot API server (tests/channels/telegram/fake_bot_api.py) in the
same run. Simulated users behave like people: each of `--chats` chats sends a message or presses a
button, waits for the bot's answer, then goes on, so both bots always have work queued.

- echo:     the PTB example echo bot (ApplicationBuilder().token(...).build(), one MessageHandler).
- jiaxiao:  this project's bot (AIORateLimiter, chat-ordered concurrency, router in a worker thread)
            on a real migrated SQLite (or --database-url) database with the demo county, running
            real flows with database writes: /language and its buttons, the aid dialog
            (/aid, stage and fact buttons, the result), /help and its flow buttons, /whoami.

The rate limiter's Telegram flood limits (30 messages/s) are lifted for the run: the figure is the
bots' own processing cost, which is what decides how many workers a county needs.
Prints updates/second for both and their ratio (target: jiaxiao ≥ 0.5 × echo).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import Update  # noqa: E402
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters  # noqa: E402

from chatbot.app import App  # noqa: E402
from chatbot.channels.telegram.handlers import ChatOrderedUpdateProcessor, api_urls  # noqa: E402
from chatbot.channels.telegram.runtime import _applications, application_for  # noqa: E402
from chatbot.clock import utcnow  # noqa: E402
from chatbot.config import Settings  # noqa: E402
from chatbot.core.messages import Button, Incoming, Reply  # noqa: E402
from chatbot.demo import ensure_demo_if_empty  # noqa: E402
from tests.channels.telegram.fake_bot_api import FakeBotApi  # noqa: E402

# One user's session, repeated: ("text", message) or ("press", None) = the first button shown.
JIAXIAO_SCRIPT: list[tuple[str, str | None]] = [
    ("text", "/language"),
    ("press", None),
    ("text", "/aid"),
    ("press", None),
    ("press", None),
    ("press", None),
    ("text", "/help"),
    ("press", None),
    ("text", "/whoami"),
    ("text", "/aid"),
]
ECHO_SCRIPT: list[tuple[str, str | None]] = [("text", "hello")]
FIRST_CHAT = 100_000


async def drive(fake: FakeBotApi, chat_id: int, steps: int, script: list[tuple[str, str | None]]) -> None:
    """One simulated user: act, wait for the bot's answer, act again."""
    for index in range(steps):
        kind, text = script[index % len(script)]
        before = fake.sent_count(chat_id)
        payload = fake.first_button(chat_id) if kind == "press" else None
        if payload is not None:
            fake.inject_callback(chat_id, payload, language_code="zh-hans")
        else:
            fake.inject_message(chat_id, text or "/help", language_code="zh-hans")
        await fake.wait_sent(chat_id, before + 1, timeout=120)


@dataclass
class Run:
    rate: float  # updates per second, wall clock
    cpu_ms: float  # process CPU per update (bot, fake server and simulated users together)


async def measure(
    fake: FakeBotApi,
    application: Application[Any, Any, Any, Any, Any, Any],
    updates: int,
    chats: int,
    script: list[tuple[str, str | None]],
    first_chat: int,
) -> Run:
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(timeout=timedelta(seconds=1), poll_interval=0)
    per_chat = [updates // chats + (1 if i < updates % chats else 0) for i in range(chats)]
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(
        *(drive(fake, first_chat + i, steps, script) for i, steps in enumerate(per_chat) if steps)
    )
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await application.updater.stop()
    await application.stop()
    await application.shutdown()
    return Run(updates / elapsed, cpu / updates * 1000)


def echo_bot(fake: FakeBotApi) -> Application[Any, Any, Any, Any, Any, Any]:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text)

    api, files = api_urls(fake.base_url)
    application = ApplicationBuilder().token(fake.token).base_url(api).base_file_url(files).build()
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return application


class CannedRouter:
    """Stands in for the core: replies of the usual size without touching the database."""

    # Like the real router on SQLite: called on the event loop (it never waits for a lock).
    can_try_without_waiting = True

    def __init__(self, registry: Any) -> None:
        self.registry = registry

    def handle(self, incoming: Incoming, now: Any, caps: Any, *, no_wait: bool = False) -> list[Reply]:
        buttons = [[Button(f"choice {i}", f"go:help{i}")] for i in range(3)]
        return [Reply("请选择：" + (incoming.text or incoming.payload or ""), buttons)]


def jiaxiao_app(fake: FakeBotApi, database_url: str) -> App:
    settings = Settings(
        database_url=database_url,
        telegram_token=fake.token,
        telegram_base_url=fake.base_url,
        telegram_rate_per_second=1_000_000.0,
        _env_file=None,  # type: ignore[call-arg]
    )
    app = App(settings)
    ensure_demo_if_empty(app)
    return app


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=5000, help="updates per bot and round")
    parser.add_argument("--chats", type=int, default=100, help="simulated users at once")
    parser.add_argument("--rounds", type=int, default=3, help="alternate the bots this often; best kept")
    parser.add_argument("--database-url", help="a migrated database (default: a fresh SQLite file)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    fake = FakeBotApi()
    await fake.start()
    echo_runs: list[Run] = []
    our_runs: list[Run] = []
    channel_runs: list[Run] = []
    processed = 0
    with tempfile.TemporaryDirectory() as tmp:
        app = jiaxiao_app(fake, args.database_url or f"sqlite:///{tmp}/bench.db")
        next_chat = FIRST_CHAT
        for _round in range(args.rounds):
            # Alternating keeps both bots exposed to the same background load on a shared machine.
            echo_runs.append(
                await measure(fake, echo_bot(fake), args.updates, args.chats, ECHO_SCRIPT, next_chat)
            )
            next_chat += args.chats
            application = application_for(app)
            processor = application.update_processor
            assert isinstance(processor, ChatOrderedUpdateProcessor)
            our_runs.append(
                await measure(fake, application, args.updates, args.chats, JIAXIAO_SCRIPT, next_chat)
            )
            processed += processor.processed
            next_chat += args.chats
            del _applications[id(app)]
            # The same channel with the core stubbed out: what the adapter itself costs.
            canned = App(app.settings, _engine=app.engine)
            canned.__dict__["router"] = CannedRouter(app.router.registry)
            channel_runs.append(
                await measure(
                    fake, application_for(canned), args.updates, args.chats, JIAXIAO_SCRIPT, next_chat
                )
            )
            next_chat += args.chats
            del _applications[id(canned)]
        database = app.engine.url.get_backend_name()
        app.engine.dispose()
    await fake.stop()
    echo = max(echo_runs, key=lambda r: r.rate)
    ours = max(our_runs, key=lambda r: r.rate)
    channel = max(channel_runs, key=lambda r: r.rate)
    print(
        f"{args.updates} updates per bot and round, {args.rounds} rounds, {args.chats} simulated users, "
        f"database {database}, {utcnow():%Y-%m-%d %H:%M} UTC"
    )
    print(f"bare PTB echo bot:            {echo.rate:8.1f} updates/s  ({echo.cpu_ms:5.2f} ms CPU/update)")
    print(
        f"jiaxiao (flows + DB writes):  {ours.rate:8.1f} updates/s  ({ours.cpu_ms:5.2f} ms CPU/update, "
        f"{processed} updates processed)"
    )
    print(
        f"jiaxiao channel, core stubbed: {channel.rate:7.1f} updates/s  ({channel.cpu_ms:5.2f} ms CPU/update)"
    )
    rounds = zip(echo_runs, our_runs, channel_runs, strict=True)
    print(
        f"each round (echo/jiaxiao/stubbed): {', '.join(f'{e.rate:.0f}/{o.rate:.0f}/{c.rate:.0f}' for e, o, c in rounds)}"
    )
    print(f"ratio jiaxiao / echo:         {ours.rate / echo.rate:8.2f}  (target >= 0.5)")


if __name__ == "__main__":
    asyncio.run(main())
