"""The WeChat channel type, as the registry lists it."""

from __future__ import annotations

from chatbot.channels.base import ChannelType
from chatbot.channels.wechat import runtime
from chatbot.channels.wechat.render import CHANNEL, WECHAT_CAPS
from chatbot.channels.wechat.sender import WECHAT_LIMIT
from chatbot.config import Settings
from chatbot.delivery.limits import ChannelLimit


def rate_limit(_settings: Settings) -> ChannelLimit:
    """WeChat's customer-service messages: one pace for every account."""
    return WECHAT_LIMIT


WECHAT = ChannelType.create(
    CHANNEL,
    WECHAT_CAPS,
    limit=rate_limit,
    configured=runtime.configured,
    serve=runtime.serve,
    sender=runtime.sender,
)
