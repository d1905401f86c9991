"""Running the configured channels as the main job, plus each channel's own subcommands.

Each channel package `chatbot.channels.<code>` may provide:
  - `cli.register(sub)`                        its subcommands (e.g. `bot.py telegram`);
  - `runtime.configured(settings) -> bool`     whether settings enable it;
  - `runtime.serve(app, stop) -> coroutine`    run until `stop` is set;
  - `runtime.sender(app) -> Sender | None`     what the delivery worker uses for its rows.
The scheduler (`chatbot.scheduler.serve`) and one delivery worker (`chatbot.delivery.worker.serve`)
run in the same event loop.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
import sys
from types import ModuleType
from typing import Any

from chatbot.app import App
from chatbot.config import ConfigError
from chatbot.i18n import _

log = logging.getLogger(__name__)
CHANNEL_PACKAGES = ("telegram", "wechat")


def _optional(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # The channel package itself may be absent (not built yet), not just its cli module.
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise


def register(sub: Any) -> None:
    for code in CHANNEL_PACKAGES:
        module = _optional(f"chatbot.channels.{code}.cli")
        if module is not None:
            module.register(sub)


def configured_runtimes(app: App) -> list[ModuleType]:
    runtimes = []
    for code in CHANNEL_PACKAGES:
        runtime = _optional(f"chatbot.channels.{code}.runtime")
        if runtime is not None and runtime.configured(app.settings):
            runtimes.append(runtime)
    return runtimes


async def serve_all(app: App, runtimes: list[ModuleType], stop: asyncio.Event) -> None:
    """Channels, scheduler and delivery worker side by side until `stop` is set."""
    tasks = [asyncio.create_task(runtime.serve(app, stop)) for runtime in runtimes]
    senders = [s for s in (runtime.sender(app) for runtime in runtimes) if s is not None]
    worker = _optional("chatbot.delivery.worker")
    if worker is not None and hasattr(worker, "serve"):
        tasks.append(asyncio.create_task(worker.serve(app, senders, stop)))
    scheduler = _optional("chatbot.scheduler")
    if scheduler is not None and hasattr(scheduler, "serve"):
        tasks.append(asyncio.create_task(scheduler.serve(app, stop)))
    done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


def run_channels(app: App) -> int:
    runtimes = configured_runtimes(app)
    if not runtimes:
        print(_("No chat channel is configured: set TELEGRAM_TOKEN or WECHAT_TOKEN."), file=sys.stderr)
        return 2

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve_all(app, runtimes, stop)

    try:
        asyncio.run(main())
    except ConfigError as exc:  # e.g. the Bot API rejected the token: one line, not a traceback
        print(str(exc), file=sys.stderr)
        return 2
    return 0
