"""How a `Reply` becomes Bot API calls: split text, inline keyboards, photos and documents, edits.

Text is sent plain (no parse mode) so that names and user input can never break the markup.
Network faults to the Bot API are retried a few times here; 429s are retried by PTB's AIORateLimiter.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message
from telegram.error import BadRequest, NetworkError

from chatbot.core.messages import Button, Reply
from chatbot.core.payloads import MAX_PAYLOAD_BYTES

log = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_CAPTION = 1024
NETWORK_ATTEMPTS = 3
NETWORK_BACKOFF = 0.5

T = TypeVar("T")


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut a long text into messages of at most `limit` characters, at paragraph, line or word ends."""
    text = text.strip() or "…"
    chunks: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = max(window.rfind("\n\n"), 0)
        if cut < limit // 2:
            cut = window.rfind("\n")
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut < limit // 2:
            # Chinese has no spaces: cut after the last sentence end, or hard at the limit.
            cut = max(window.rfind(mark) + 1 for mark in "。！？；，.!?")
        if cut < limit // 2:
            cut = limit
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    chunks.append(text)
    return [chunk for chunk in chunks if chunk]


def keyboard(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    """Inline keyboard from reply buttons; a payload over Telegram's 64 bytes is a programming error."""
    if not rows:
        return None
    for row in rows:
        for button in row:
            if len(button.payload.encode()) > MAX_PAYLOAD_BYTES:
                raise ValueError(
                    f"button payload over {MAX_PAYLOAD_BYTES} bytes (prefix {button.payload[:6]!r})"
                )
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(button.label, callback_data=button.payload) for button in row]
            for row in rows
            if row
        ]
    )


async def with_network_retries(call: Callable[[], Awaitable[T]]) -> T:
    """Retry a Bot API call on timeouts, connection faults and 5xx; never on a 400."""
    for attempt in range(1, NETWORK_ATTEMPTS + 1):
        try:
            return await call()
        except BadRequest:
            raise
        except NetworkError as exc:
            if attempt == NETWORK_ATTEMPTS:
                raise
            log.warning("Bot API call failed (%s), attempt %d; retrying", type(exc).__name__, attempt)
            await asyncio.sleep(NETWORK_BACKOFF * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def is_not_modified(exc: BadRequest) -> bool:
    return "not modified" in exc.message.lower()


async def send_reply(bot: Bot, chat_id: int | str, reply: Reply) -> Message:
    """Send one reply as one or more messages; the keyboard goes on the last one. Returns that message."""
    markup = keyboard(reply.buttons)
    attachment = reply.attachment
    text = reply.text.strip()
    if attachment is not None:
        caption_fits = len(text) <= MAX_CAPTION
        if text and not caption_fits:
            for chunk in split_text(text):
                await _send_text(bot, chat_id, chunk, None)
        upload = InputFile(attachment.content, filename=attachment.filename)
        caption = text if text and caption_fits else None
        if attachment.mime == "image/png":
            return await with_network_retries(
                lambda: bot.send_photo(chat_id, upload, caption=caption, reply_markup=markup)
            )
        return await with_network_retries(
            lambda: bot.send_document(chat_id, upload, caption=caption, reply_markup=markup)
        )
    chunks = split_text(text)
    for chunk in chunks[:-1]:
        await _send_text(bot, chat_id, chunk, None)
    return await _send_text(bot, chat_id, chunks[-1], markup)


async def _send_text(bot: Bot, chat_id: int | str, text: str, markup: InlineKeyboardMarkup | None) -> Message:
    return await with_network_retries(lambda: bot.send_message(chat_id, text, reply_markup=markup))


async def edit_reply(bot: Bot, chat_id: int | str, message_id: int, reply: Reply) -> bool:
    """Replace the text and keyboard of an earlier message; False when it cannot be edited any more.

    Text beyond one message is sent as new messages after the edited one.
    """
    chunks = split_text(reply.text)
    markup = keyboard(reply.buttons)
    try:
        await with_network_retries(
            lambda: bot.edit_message_text(
                chunks[0],
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=markup if len(chunks) == 1 else None,
            )
        )
    except BadRequest as exc:
        if not is_not_modified(exc):
            log.info("could not edit message %s in place (%s); sending anew", message_id, exc.message)
            return False
    for index, chunk in enumerate(chunks[1:], start=2):
        await _send_text(bot, chat_id, chunk, markup if index == len(chunks) else None)
    return True
