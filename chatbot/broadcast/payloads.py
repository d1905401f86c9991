"""Button payloads of the broadcast domain (prefixes ntc*, bc*)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from chatbot.core.payloads import Payload
from db.models.broadcast import BroadcastScope


class NoticeQuestion(enum.StrEnum):
    """Which /notice question a NoticeChoice button answers."""

    AUDIENCE = "a"
    LANGUAGE = "l"
    WHEN = "w"
    ACK = "k"
    CANCEL = "x"


@dataclass(frozen=True)
class NoticeScopePick(Payload, prefix="ntcs"):
    """A target scope offered in /notice (grade 0 = the whole scope)."""

    scope: BroadcastScope
    id: int
    grade: int


@dataclass(frozen=True)
class NoticeChoice(Payload, prefix="ntc"):
    """One answer in the /notice dialog: the question it answers and the value chosen."""

    what: NoticeQuestion
    value: str


@dataclass(frozen=True)
class NoticeGo(Payload, prefix="ntcgo"):
    """The preview's Send button; `key` makes a second press find the notice already sent."""

    key: str


@dataclass(frozen=True)
class AckNotice(Payload, prefix="bcack"):
    broadcast_id: int


@dataclass(frozen=True)
class NoticeStatus(Payload, prefix="bcst"):
    broadcast_id: int


@dataclass(frozen=True)
class NoticeRemind(Payload, prefix="bcrem"):
    broadcast_id: int


@dataclass(frozen=True)
class NoticeCancel(Payload, prefix="bccan"):
    broadcast_id: int
