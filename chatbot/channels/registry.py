"""Every channel type, by code. Delivery, the CLI and the main job ask here; nothing else lists channels.

Adding a channel (SMS comes next) is one new package with a `channel.py`, and its line below (and
in chatbot/channels/cli.py when it has commands of its own).
"""

from __future__ import annotations

from chatbot.channels.base import ChannelType
from chatbot.channels.console import CONSOLE
from chatbot.channels.telegram.channel import TELEGRAM
from chatbot.channels.wechat.channel import WECHAT
from chatbot.config import Settings


def _by_code(*types: ChannelType) -> dict[str, ChannelType]:
    found: dict[str, ChannelType] = {}
    for channel_type in types:
        if channel_type.code in found:
            raise ValueError(f"channel code {channel_type.code!r} registered twice")
        found[channel_type.code] = channel_type
    return found


CHANNEL_TYPES = _by_code(CONSOLE, TELEGRAM, WECHAT)


def channel_type(code: str) -> ChannelType:
    """The type for a code; an unknown code is a programming error."""
    return CHANNEL_TYPES[code]


def configured_types(settings: Settings) -> list[ChannelType]:
    """The channel types these settings turn on, in the registry's order."""
    return [t for t in CHANNEL_TYPES.values() if t.configured(settings)]
