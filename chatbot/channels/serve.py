"""The main job: the configured channels, the scheduler and one delivery worker in one event loop."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence

from chatbot import scheduler
from chatbot.app import App
from chatbot.channels.base import ChannelType
from chatbot.delivery import worker


async def serve_all(app: App, types: Sequence[ChannelType], stop: asyncio.Event) -> None:
    """Channels, scheduler and delivery worker side by side until `stop` is set (or one fails)."""
    tasks = [asyncio.create_task(t.serve(app, stop)) for t in types if t.serve is not None]
    senders = [s for s in (t.sender(app) for t in types) if s is not None]
    tasks.append(asyncio.create_task(worker.serve(app, senders, stop)))
    tasks.append(asyncio.create_task(scheduler.serve(app, stop)))
    done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


def serve_until_signal(app: App, types: Sequence[ChannelType]) -> None:
    """`serve_all` until SIGINT or SIGTERM, for the commands that run the bot."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve_all(app, types, stop)

    asyncio.run(main())
