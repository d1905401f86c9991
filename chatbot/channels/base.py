"""What a channel type is: one per code, like RapidPro's ChannelType or Errbot's Backend.

A type holds everything the rest of the bot needs to know about a channel: its code, what its
messages can show (buttons, length, edits), its default rate limits, whether the settings turn it
on, its serve loop and its delivery Sender. The registry (chatbot.channels.registry) lists the
types; delivery, the CLI and the main job ask it, so a new channel is one new package.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from chatbot.app import App
from chatbot.config import Settings
from chatbot.core.messages import ChannelCaps
from chatbot.delivery.limits import ChannelLimit
from chatbot.delivery.ports import Sender

Serve = Callable[[App, asyncio.Event], Coroutine[Any, Any, None]]


def _unlimited(_settings: Settings) -> ChannelLimit:
    return ChannelLimit()


def _never(_settings: Settings) -> bool:
    return False


def _no_sender(_app: App) -> Sender | None:
    return None


@dataclass(frozen=True)
class ChannelType:
    """One channel type. Build it with `ChannelType.create(...)`, which checks it is whole."""

    code: str
    caps: ChannelCaps
    limit: Callable[[Settings], ChannelLimit] = _unlimited
    configured: Callable[[Settings], bool] = _never
    serve: Serve | None = None
    sender: Callable[[App], Sender | None] = _no_sender

    @classmethod
    def create(
        cls,
        code: str,
        caps: ChannelCaps,
        *,
        limit: Callable[[Settings], ChannelLimit] = _unlimited,
        configured: Callable[[Settings], bool] = _never,
        serve: Serve | None = None,
        sender: Callable[[App], Sender | None] = _no_sender,
    ) -> ChannelType:
        if caps.code != code:
            raise ValueError(f"channel type {code!r}: its capabilities are for {caps.code!r}")
        if configured is not _never and serve is None:
            raise ValueError(f"channel type {code!r}: a channel the settings can turn on needs a serve loop")
        return cls(code, caps, limit, configured, serve, sender)
