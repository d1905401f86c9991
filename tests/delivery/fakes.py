"""A fake channel that can be told to fail, and virtual time for the worker's clock and sleeps."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from chatbot.core.messages import ChannelCaps
from chatbot.delivery.limits import ChannelLimit
from chatbot.delivery.ports import OutgoingMessage
from db.models import ChannelIdentity, OutboxMessage, OutboxStatus, Priority
from db.session import transaction


class Crash(BaseException):
    """Stands for the process dying right after the platform accepted a message."""


@dataclass
class Sent:
    row_id: int
    external_id: str
    text: str
    at: float
    edit_of: str | None = None
    buttons: list[Any] = field(default_factory=list)


class VirtualTime:
    """A clock that only moves when every coroutine is asleep: sleeps return at their exact due time."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.t = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        return self.t

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.t)

    def advance(self, seconds: float) -> None:
        self.t += seconds

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.t + seconds, next(self._seq), future))
        await future

    async def run(self) -> None:
        """Background driver: when the loop is idle, jump to the earliest sleeper and wake it."""
        while True:
            for _ in range(20):
                await asyncio.sleep(0)
            if self._sleepers:
                due, _, future = heapq.heappop(self._sleepers)
                self.t = max(self.t, due)
                if not future.done():
                    future.set_result(None)


class FakeSender:
    """Records every send; `script[external_id]` lists exceptions to raise on successive sends."""

    def __init__(
        self, channel: str = "telegram", clock: Any = None, *, numbered: bool = False, sleep: Any = None
    ) -> None:
        self.channel = channel
        # Numbered options and no edits, like WeChat; or real buttons and edits, like Telegram.
        self.caps = ChannelCaps(code=channel, numbered_buttons=numbered, can_edit=not numbered, max_text=4096)
        self.limit = ChannelLimit()
        self.clock = clock
        self.sent: list[Sent] = []
        self.script: dict[str, list[BaseException]] = {}
        self.crash_after: set[str] = set()
        self.lock = threading.Lock()
        self.attempts = 0
        # The platform's latency, slept with `sleep` (virtual time in tests); 0 answers at once.
        self.delay = 0.0
        self.sleep = sleep or asyncio.sleep

    async def send(self, message: OutgoingMessage) -> str:
        if self.delay:
            await self.sleep(self.delay)
        with self.lock:
            self.attempts += 1
            failures = self.script.get(message.external_id)
            if failures:
                raise failures.pop(0)
            at = self.clock() if self.clock else 0.0
            self.sent.append(
                Sent(
                    message.row_id,
                    message.external_id,
                    message.text,
                    at,
                    message.edit_external_message_id,
                    list(message.buttons),
                )
            )
        if message.external_id in self.crash_after:
            self.crash_after.discard(message.external_id)
            raise Crash(message.external_id)
        await asyncio.sleep(0)
        # Like Telegram's editMessageText: an edit keeps the original message id.
        return message.edit_external_message_id or f"m{message.row_id}"

    def row_ids(self) -> list[int]:
        return [s.row_id for s in self.sent]


def make_identities(
    factory: sessionmaker[Session], count: int, channel: str, now: datetime, prefix: str = "chat"
) -> list[int]:
    with transaction(factory) as session:
        identities = [
            ChannelIdentity(
                channel=channel,
                external_id=f"{prefix}-{i}",
                active=True,
                failed_codes=0,
                last_buttons=[],
                created_at=now,
            )
            for i in range(count)
        ]
        session.add_all(identities)
        session.flush()
        return [identity.id for identity in identities]


def queue_rows(
    factory: sessionmaker[Session],
    identity_ids: list[int],
    channel: str,
    now: datetime,
    *,
    priority: Priority = Priority.NORMAL,
    not_before: datetime | None = None,
    buttons: list[Any] | None = None,
    text: str = "hello",
) -> list[int]:
    with transaction(factory) as session:
        rows = [
            OutboxMessage(
                identity_id=identity_id,
                channel=channel,
                kind="test",
                text=f"{text} {n}",
                buttons=buttons or [],
                priority=int(priority),
                not_before=not_before or now,
                status=OutboxStatus.QUEUED,
                attempts=0,
                tz="Asia/Shanghai",
                created_at=now,
            )
            for n, identity_id in enumerate(identity_ids)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]
