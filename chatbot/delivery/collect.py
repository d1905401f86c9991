"""A Sender that keeps what it is given: the console channel's delivery, and a building block for fakes."""

from __future__ import annotations

from dataclasses import dataclass, field

from chatbot.core.messages import ChannelCaps
from chatbot.delivery.limits import ChannelLimit
from chatbot.delivery.ports import OutgoingMessage

COLLECTING_CAPS = ChannelCaps(code="console", numbered_buttons=True, can_edit=False, max_text=4096)


@dataclass
class CollectingSender:
    """Delivers by appending to `sent`; renders buttons as numbered options like the console."""

    channel: str = "console"
    caps: ChannelCaps = COLLECTING_CAPS
    limit: ChannelLimit = field(default_factory=ChannelLimit)
    sent: list[OutgoingMessage] = field(default_factory=list)

    async def send(self, message: OutgoingMessage) -> str:
        self.sent.append(message)
        return f"{self.channel}-{message.row_id}"
