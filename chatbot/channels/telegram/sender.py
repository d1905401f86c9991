"""The delivery worker's Sender for Telegram: one outbox row → one message (or an edit in place).

It uses the same PTB Bot as the running Application, so one AIORateLimiter paces replies and
outbox messages together. PTB's own 429 retries happen first; what is left is reported as the
typed failures of `chatbot.delivery.ports`, and the worker decides what to do with the row.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from chatbot.channels.telegram import CHANNEL, TELEGRAM_CAPS
from chatbot.channels.telegram.render import edit_reply, send_reply
from chatbot.config import Settings
from chatbot.core.messages import Reply, buttons_from_json
from chatbot.delivery.limits import ChannelLimit
from chatbot.delivery.ports import OutgoingMessage, PermanentFailure, RecipientGone, RetryLater

log = logging.getLogger(__name__)

TOKEN_RETRY_SECONDS = 300.0
# Telegram's flood limits: 30 messages a second per bot, about one a second per chat.
DEFAULT_LIMIT = ChannelLimit(per_second=30.0, per_chat_per_second=1.0)


def rate_limit(settings: Settings) -> ChannelLimit:
    """The worker's outer bound from the settings; the Bot's AIORateLimiter is the inner safety net."""
    return ChannelLimit(
        per_second=settings.telegram_rate_per_second,
        per_chat_per_second=settings.telegram_rate_per_chat_per_second,
    )


class TelegramSender:
    channel = CHANNEL
    # Read by the delivery worker: Telegram shows real buttons and can edit a sent message.
    caps = TELEGRAM_CAPS

    def __init__(self, bot: Bot, limit: ChannelLimit = DEFAULT_LIMIT) -> None:
        self.bot = bot
        self.limit = limit
        self._ready = asyncio.Lock()

    async def send(self, message: OutgoingMessage) -> str:
        """Deliver the row and return Telegram's message id; failures are typed for the worker."""
        reply = Reply(text=message.text, buttons=buttons_from_json(message.buttons))
        try:
            await self._initialize()
            if message.edit_external_message_id:
                message_id = int(message.edit_external_message_id)
                if await edit_reply(self.bot, message.external_id, message_id, reply):
                    return str(message_id)
            sent = await send_reply(self.bot, message.external_id, reply)
            return str(sent.message_id)
        except RetryAfter as exc:
            raise RetryLater("telegram flood control", retry_after=_seconds(exc.retry_after)) from exc
        except Forbidden as exc:
            raise RecipientGone(exc.message) from exc
        except (BadRequest, ChatMigrated) as exc:
            raise PermanentFailure(str(exc)) from exc
        except InvalidToken as exc:
            log.error("telegram rejected the bot token; check TELEGRAM_TOKEN")
            raise RetryLater("telegram token rejected", retry_after=TOKEN_RETRY_SECONDS) from exc
        except NetworkError as exc:
            raise RetryLater(f"telegram network: {type(exc).__name__}: {exc.message}") from exc
        except TelegramError as exc:
            raise RetryLater(f"telegram: {type(exc).__name__}") from exc

    async def _initialize(self) -> None:
        # The Application initializes the same bot when it starts; whoever comes first does it once.
        async with self._ready:
            await self.bot.initialize()  # a no-op once initialized


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
