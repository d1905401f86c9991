"""The Telegram channel type, as the registry lists it."""

from __future__ import annotations

from chatbot.channels.base import ChannelType
from chatbot.channels.telegram import CHANNEL, TELEGRAM_CAPS, runtime
from chatbot.channels.telegram.sender import rate_limit

TELEGRAM = ChannelType.create(
    CHANNEL,
    TELEGRAM_CAPS,
    limit=rate_limit,
    configured=runtime.configured,
    serve=runtime.serve,
    sender=runtime.sender,
)
