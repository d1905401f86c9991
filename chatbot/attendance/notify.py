"""Attendance's outbox items: urgent unless said otherwise, since absence alerts must not wait
for morning. Batch jobs queue them with `chatbot.delivery.outbox.enqueue_many`."""

from __future__ import annotations

from dataclasses import dataclass

from chatbot.delivery.outbox import OutboxItem, enqueue_many
from db.models import Priority


@dataclass(frozen=True)
class Outgoing(OutboxItem):
    priority: Priority = Priority.URGENT


__all__ = ["Outgoing", "enqueue_many"]
