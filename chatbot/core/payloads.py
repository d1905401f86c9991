"""Typed, prefixed button payloads (like aiogram's CallbackData), at most 64 bytes.

A payload is untrusted input: unpacking validates its shape, and handlers re-authorize
whatever it names on every press.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import typing
from typing import Any, ClassVar, Self

MAX_PAYLOAD_BYTES = 64
_SAFE_TEXT = re.compile(r"[A-Za-z0-9_.\-]*")


class BadPayload(ValueError):
    """The payload is malformed, forged or from an unknown button."""


class Payload:
    """Subclass as a frozen dataclass with `prefix=`; fields may be int, str, bool or a str-valued Enum."""

    prefix: ClassVar[str]
    registry: ClassVar[dict[str, type[Payload]]] = {}

    def __init_subclass__(cls, prefix: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not re.fullmatch(r"[a-z][a-z0-9]{0,5}", prefix):
            raise ValueError(f"payload prefix {prefix!r} must be 1-6 lowercase letters/digits")
        if prefix in Payload.registry and Payload.registry[prefix].__qualname__ != cls.__qualname__:
            raise ValueError(f"payload prefix {prefix!r} is already used by {Payload.registry[prefix]}")
        cls.prefix = prefix
        Payload.registry[prefix] = cls

    def pack(self) -> str:
        parts = [self.prefix]
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, bool):
                parts.append("1" if value else "0")
            else:
                text = str(value.value if isinstance(value, enum.Enum) else value)
                if not _SAFE_TEXT.fullmatch(text):
                    raise ValueError(f"payload field {f.name}={text!r} has unsafe characters")
                parts.append(text)
        packed = ":".join(parts)
        if len(packed.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"payload {packed!r} is over {MAX_PAYLOAD_BYTES} bytes")
        return packed

    @classmethod
    def unpack(cls, raw: str | None) -> Self:
        if not raw or len(raw.encode()) > MAX_PAYLOAD_BYTES:
            raise BadPayload(raw or "")
        parts = raw.split(":")
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        if parts[0] != cls.prefix or len(parts) != len(fields) + 1:
            raise BadPayload(raw)
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for f, text in zip(fields, parts[1:], strict=True):
            values[f.name] = _convert(hints[f.name], text, raw)
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise BadPayload(raw) from exc


def _convert(kind: Any, text: str, raw: str) -> Any:
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        # Only a member's value unpacks: a forged word is a bad payload, not a new case.
        try:
            return kind(text)
        except ValueError as exc:
            raise BadPayload(raw) from exc
    if kind is bool:
        if text not in {"0", "1"}:
            raise BadPayload(raw)
        return text == "1"
    if kind is int:
        if not re.fullmatch(r"-?\d{1,12}", text):
            raise BadPayload(raw)
        return int(text)
    if not _SAFE_TEXT.fullmatch(text):
        raise BadPayload(raw)
    return text


def prefix_of(raw: str | None) -> str | None:
    if not raw:
        return None
    head = raw.split(":", 1)[0]
    return head if re.fullmatch(r"[a-z][a-z0-9]{0,5}", head) else None
