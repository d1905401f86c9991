"""A Sender that keeps what it is given: the console channel's delivery, and a building block for fakes."""

from __future__ import annotations

from dataclasses import dataclass, field

from chatbot.delivery.ports import OutgoingMessage


@dataclass
class CollectingSender:
    """Delivers by appending to `sent`; renders buttons as numbered options like the console."""

    channel: str = "console"
    numbered_buttons: bool = True
    can_edit: bool = False
    sent: list[OutgoingMessage] = field(default_factory=list)

    async def send(self, message: OutgoingMessage) -> str:
        self.sent.append(message)
        return f"{self.channel}-{message.row_id}"
