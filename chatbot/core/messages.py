"""The shapes that cross the channel boundary: what came in, what goes out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Incoming:
    """One update from any channel, reduced to what the core needs."""

    channel: str
    external_id: str
    text: str | None = None
    payload: str | None = None
    language_hint: str | None = None
    is_group: bool = False


@dataclass(frozen=True)
class Button:
    label: str
    payload: str

    def to_json(self) -> dict[str, str]:
        return {"label": self.label, "payload": self.payload}


@dataclass(frozen=True)
class Attachment:
    """A file sent with a reply: a chart (image/png) or an export (xlsx)."""

    filename: str
    content: bytes
    mime: str


@dataclass
class Reply:
    """One message to show. `edit` asks channels that can to replace the message a button was on."""

    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    edit: bool = False
    attachment: Attachment | None = None

    def flat_buttons(self) -> list[Button]:
        return [button for row in self.buttons for button in row]


def buttons_to_json(rows: list[list[Button]]) -> list[Any]:
    return [[button.to_json() for button in row] for row in rows]


def buttons_from_json(rows: list[Any] | None) -> list[list[Button]]:
    return [[Button(label=b["label"], payload=b["payload"]) for b in row] for row in rows or []]


@dataclass(frozen=True)
class ChannelCaps:
    """What a channel can render; the router uses it, flows never look at it."""

    code: str
    numbered_buttons: bool = True
    can_edit: bool = False
    max_text: int = 4096
