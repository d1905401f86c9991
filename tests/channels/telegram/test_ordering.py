"""Updates from one chat run in order; different chats run side by side."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import Chat, Message, Update

from chatbot.channels.telegram.handlers import ChatOrderedUpdateProcessor


def update(update_id: int, chat_id: int) -> Update:
    chat = Chat(id=chat_id, type=Chat.PRIVATE)
    return Update(update_id, message=Message(update_id, datetime(2026, 11, 23, tzinfo=UTC), chat, text="hi"))


async def test_one_chat_in_order_many_chats_at_once() -> None:
    processor = ChatOrderedUpdateProcessor(8)
    events: list[str] = []
    release_first = asyncio.Event()

    async def work(name: str, wait: asyncio.Event | None = None) -> None:
        events.append(f"start {name}")
        if wait is not None:
            await wait.wait()
        events.append(f"end {name}")

    async with processor:
        first = asyncio.create_task(processor.process_update(update(1, 10), work("a1", release_first)))
        second = asyncio.create_task(processor.process_update(update(2, 10), work("a2")))
        other = asyncio.create_task(processor.process_update(update(3, 20), work("b1")))
        await other
        assert events == ["start a1", "start b1", "end b1"]  # chat 20 did not wait for chat 10
        release_first.set()
        await asyncio.gather(first, second)
    assert events[3:] == ["end a1", "start a2", "end a2"]
    assert processor.processed == 3
