"""Channel types, registered by code ("console", "telegram", "wechat").

A channel turns platform updates into `Incoming`, renders `Reply`s, and delivers outbox rows.
Channels hold no business rules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

CHANNEL_TYPES: dict[str, type] = {}


def register_channel(code: str) -> Callable[[type[T]], type[T]]:
    def decorate(cls: type[T]) -> type[T]:
        if code in CHANNEL_TYPES and CHANNEL_TYPES[code] is not cls:
            raise ValueError(f"channel code {code!r} registered twice")
        CHANNEL_TYPES[code] = cls
        return cls

    return decorate


def channel_type(code: str) -> type:
    if code not in CHANNEL_TYPES:
        # Importing the module registers it; unknown codes fail loudly.
        import importlib

        importlib.import_module(f"chatbot.channels.{code}")
    return CHANNEL_TYPES[code]
