"""The delivery worker's configuration and the values its steps pass along: a claimed row, a
send's result and what one drain did (chatbot.delivery.worker re-exports them all)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import Any, Literal

from chatbot.config import Settings
from chatbot.delivery.limits import ChannelLimit
from chatbot.delivery.outbox import QUIET_END, QUIET_START
from chatbot.delivery.ports import OutgoingMessage

Clock = Callable[[], datetime]
Outcome = Literal["sent", "retry", "failed", "gone", "deferred"]


@dataclass
class DeliveryConfig:
    """How the worker paces, batches and retries. Build it with `from_settings`."""

    limits: dict[str, ChannelLimit] = field(default_factory=dict)
    batch_size: int = 100
    # A batch holds about this many seconds of sending at the channels' rate, so cancelling a
    # broadcast stops within about this long.
    batch_seconds: float = 1.0
    # Messages sent (or being sent) whose outcome is not yet written. A kill -9 re-sends exactly
    # these, so this is the most duplicates one crash can cause. Each extra one buys throughput on
    # slow links (messages/s ≈ in_flight / (platform latency + one small write)).
    in_flight: int = 1
    # Broadcast progress (one row lock and a count per notice) is refreshed at most this often
    # while sending, and always when a drain ends.
    hook_interval: float = 1.0
    # Concurrent claim→send→record loops; two keep the channel busy while a batch is recorded.
    lanes: int = 2
    max_attempts: int = 8
    backoff_base: float = 5.0
    backoff_max: float = 3600.0
    send_timeout: float = 60.0
    sending_timeout: timedelta = timedelta(minutes=5)
    # A batch waits this long for a busy chat (per-chat limit); longer waits go back to the queue.
    max_chat_hold: float = 2.0
    poll_interval: float = 1.0
    recover_interval: float = 60.0
    quiet_start: clock_time = QUIET_START
    quiet_end: clock_time = QUIET_END
    # Run database work in a thread so sending continues while a batch is claimed or recorded.
    db_in_thread: bool = True

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> DeliveryConfig:
        """The operator's settings; each channel's rate limits come from its Sender unless overridden."""
        # PostgreSQL round trips are slower but run in parallel: more lanes keep a channel busy.
        overrides.setdefault("lanes", 4 if settings.database_url.startswith("postgresql") else 2)
        overrides.setdefault("in_flight", settings.delivery_in_flight)
        return cls(quiet_start=settings.quiet_hours_start, quiet_end=settings.quiet_hours_end, **overrides)


@dataclass(frozen=True)
class Claimed:
    """A row this worker marked `sending`, with what its channel needs to send it."""

    message: OutgoingMessage
    channel: str
    priority: int
    attempts: int
    ref_type: str | None
    ref_id: int | None


@dataclass(frozen=True)
class Result:
    """What one send of a claimed row came to."""

    claimed: Claimed
    outcome: Outcome
    external_message_id: str | None = None
    error: str | None = None
    retry_after: float | None = None

    @property
    def in_flight(self) -> bool:
        """An attempted send (anything but a deferral) holds an in-flight place until it is recorded."""
        return self.outcome != "deferred"


@dataclass
class DrainReport:
    """What one drain did, by outcome; `held` counts rows moved past quiet hours."""

    counts: Counter[str] = field(default_factory=Counter)

    @property
    def sent(self) -> int:
        return self.counts["sent"]

    @property
    def claimed(self) -> int:
        return sum(v for k, v in self.counts.items() if k != "held")


__all__ = ["Claimed", "Clock", "DeliveryConfig", "DrainReport", "Outcome", "Result"]
