"""What the delivery worker needs from a channel: one async `send`, and typed failures.

Channels implement `Sender`; the worker (chatbot.delivery.worker) owns retries, rate limits,
quiet hours and status bookkeeping, so channels stay free of delivery rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from chatbot.core.messages import ChannelCaps
from chatbot.delivery.limits import ChannelLimit


@dataclass(frozen=True)
class OutgoingMessage:
    """An outbox row as a channel sees it."""

    row_id: int
    identity_id: int
    external_id: str  # the chat id / openid on that channel
    text: str
    buttons: list[Any] = field(default_factory=list)  # JSON rows of {"label", "payload"}
    kind: str = "notice"
    # When set, the channel should edit this earlier message in place (e.g. broadcast progress).
    edit_external_message_id: str | None = None
    last_inbound_at: Any = None  # datetime | None: for WeChat's 48-hour customer-service window


class DeliveryError(Exception):
    """Base of every failure a Sender reports."""


class RetryLater(DeliveryError):
    """Rate limited (429) or a transient fault (timeout, 5xx): try again after `retry_after` seconds."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class RecipientGone(DeliveryError):
    """The user blocked the bot or unsubscribed: mark the identity inactive, never retry."""


class PermanentFailure(DeliveryError):
    """The message can never be delivered as it is (bad request, unknown chat)."""


class Sender(Protocol):
    """A channel's delivery: its code, what its messages can show, its default pace, and `send`."""

    channel: str
    caps: ChannelCaps  # numbered options or real buttons, edits: the worker records rows to match
    limit: ChannelLimit  # the channel's own rate limits; DeliveryConfig.limits may override them

    async def send(self, message: OutgoingMessage) -> str:
        """Deliver the message and return the platform's message id."""
        ...
