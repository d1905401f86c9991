"""Button payloads of the broadcast domain (prefixes ntc*, bc*)."""

from __future__ import annotations

from dataclasses import dataclass

from chatbot.core.payloads import Payload


@dataclass(frozen=True)
class NoticeScopePick(Payload, prefix="ntcs"):
    """A target scope offered in /notice: scope is region, school, grade or class."""

    scope: str
    id: int
    grade: int


@dataclass(frozen=True)
class NoticeChoice(Payload, prefix="ntc"):
    """One answer in the /notice dialog: what (a=audience, l=language, w=when, k=ack, x=cancel) and value."""

    what: str
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
