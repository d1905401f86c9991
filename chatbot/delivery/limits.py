"""Rate limits for the delivery worker: one overall pace per channel plus a pace per chat.

The limiter is a GCRA ("virtual scheduling") pacer: every caller reserves the next free slot and
sleeps until it, so N concurrent senders share the rate evenly and never burst above it. Time and
sleeping are injected, so tests run in virtual time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class ChannelLimit:
    """Messages per second for a channel overall and per chat; None means unlimited."""

    per_second: float | None = None
    per_chat_per_second: float | None = None
    # Sends due within this many seconds go at once instead of each sleeping: fewer timers at high
    # rates. 0 keeps strict spacing (what Telegram's 30/s needs); the platform must allow the burst.
    burst_seconds: float = 0.0


class Pacer:
    """Spaces acquisitions `1/rate` seconds apart, in the order requested; `tolerance` allows a tiny burst."""

    def __init__(
        self,
        rate: float,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        tolerance: float = 0.0,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self.tolerance = tolerance
        self.monotonic = monotonic
        self.sleep = sleep
        self._next_slot = 0.0
        self._paused_until = 0.0

    def reserve(self) -> float:
        """Book the next slot and return how long to wait for it (0 when it is free now)."""
        now = self.monotonic()
        # After a stall, up to `tolerance` seconds of missed slots may still be used (a token
        # bucket of that depth), so short pauses in a serial sender are made up, not lost.
        slot = max(self._next_slot, now - self.tolerance, self._paused_until)
        self._next_slot = slot + self.interval
        return max(0.0, slot - now)

    async def acquire(self) -> None:
        wait = self.reserve()
        while True:
            if wait > self.tolerance:
                await self.sleep(wait)
            # A pause that began while we slept (a 429) invalidates the slot: book one after it.
            if self.monotonic() >= self._paused_until:
                return
            wait = self.reserve()

    def pause(self, seconds: float) -> None:
        """Nothing goes out for `seconds` (the platform said retry_after)."""
        self._paused_until = max(self._paused_until, self.monotonic() + seconds)
        self._next_slot = max(self._next_slot, self._paused_until)


class ChatPacers:
    """One pacer per chat, created on demand and forgotten once idle, so memory stays bounded."""

    def __init__(
        self, rate: float, monotonic: Monotonic = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.rate = rate
        self.monotonic = monotonic
        self.sleep = sleep
        self._pacers: dict[str, Pacer] = {}

    def reserve(self, chat: str) -> float:
        pacer = self._pacers.get(chat)
        if pacer is None:
            if len(self._pacers) > 10_000:
                self._forget_idle()
            pacer = self._pacers[chat] = Pacer(self.rate, self.monotonic, self.sleep)
        return pacer.reserve()

    def release(self, chat: str) -> None:
        """Give back the slot just reserved (the message was not sent after all)."""
        pacer = self._pacers.get(chat)
        if pacer is not None:
            pacer._next_slot -= pacer.interval

    def _forget_idle(self) -> None:
        now = self.monotonic()
        self._pacers = {chat: p for chat, p in self._pacers.items() if p._next_slot > now}


class ChannelLimiter:
    """What one channel may send: an overall pacer and per-chat pacers, either may be off."""

    def __init__(
        self, limit: ChannelLimit, monotonic: Monotonic = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.limit = limit
        self.sleep = sleep
        self.overall = (
            Pacer(limit.per_second, monotonic, sleep, tolerance=limit.burst_seconds)
            if limit.per_second
            else None
        )
        self.per_chat = (
            ChatPacers(limit.per_chat_per_second, monotonic, sleep) if limit.per_chat_per_second else None
        )

    def chat_wait(self, chat: str) -> float:
        """Reserve the chat's next slot; the caller decides to wait or to defer the message."""
        return self.per_chat.reserve(chat) if self.per_chat else 0.0

    def release_chat(self, chat: str) -> None:
        if self.per_chat:
            self.per_chat.release(chat)

    async def acquire(self, chat_wait: float = 0.0) -> None:
        if chat_wait > 0:
            await self.sleep(chat_wait)
        if self.overall is not None:
            await self.overall.acquire()

    def pause(self, seconds: float) -> None:
        if self.overall is not None:
            self.overall.pause(seconds)
