"""WeChat's wire format on our side: the URL handshake, reading a signed (and maybe encrypted) callback,
sealing a passive reply, and what a callback means to the core.

Nothing here touches the database or the network: it is the part a forged or garbled request reaches
first, so every way a body can be wrong ends in Forbidden or BadCallback, never in another exception.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from xml.parsers.expat import ExpatError

from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise import parse_message as parse_wecom_message
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.enterprise.replies import TextReply as WeComTextReply
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from chatbot.channels.wechat.options import WeChatOptions
from chatbot.channels.wechat.render import CHANNEL, cdata_safe
from chatbot.config import ConfigError, Settings
from chatbot.core.messages import Incoming

# A signed callback older than this is refused, so one captured before its key was purged cannot be replayed.
MAX_CLOCK_SKEW = timedelta(hours=12)


class Forbidden(Exception):
    """The callback is not signed (or encrypted) with our token and key."""


class BadCallback(Exception):
    """The body is not a WeChat callback we can read."""


@dataclass(frozen=True)
class Callback:
    message: Any
    encrypted: bool
    nonce: str
    timestamp: str


class CallbackReader:
    """Checks signatures and decrypts with our token and EncodingAESKey; raises ConfigError if they are unusable."""

    def __init__(self, settings: Settings, options: WeChatOptions, wall_clock: Callable[[], float]) -> None:
        if not settings.wechat_token:
            raise ConfigError("configuration error: WECHAT_TOKEN is not set")
        self.options = options
        # The domain clock may be frozen (tests, replays); signature freshness needs the real one.
        self.wall_clock = wall_clock
        self.token = settings.wechat_token
        self.crypto: Any = None
        if settings.wechat_aes_key:
            if len(settings.wechat_aes_key) != 43:
                raise ConfigError(
                    "configuration error: WECHAT_AES_KEY must be the 43-character EncodingAESKey"
                )
            if not settings.wechat_app_id:
                # The AppID (CorpID) is inside every encrypted message and checked on decryption.
                raise ConfigError("configuration error: WECHAT_APP_ID is required with WECHAT_AES_KEY")
            crypto_class = WeComCrypto if options.mode == "wecom" else WeChatCrypto
            try:
                self.crypto = crypto_class(self.token, settings.wechat_aes_key, settings.wechat_app_id)
            except (ValueError, AssertionError):
                raise ConfigError(
                    "configuration error: WECHAT_AES_KEY is not a valid EncodingAESKey"
                ) from None
        elif options.mode == "wecom":
            raise ConfigError("configuration error: WECHAT_AES_KEY is required in WeCom mode")

    def handshake_echo(self, query: Mapping[str, str]) -> Any:
        """The `echostr` to send back (str, or bytes from WeCom); raises KeyError or wechatpy's errors."""
        if self.options.mode == "wecom":
            return self.crypto.check_signature(
                query["msg_signature"], query["timestamp"], query["nonce"], query["echostr"]
            )
        check_signature(self.token, query["signature"], query["timestamp"], query["nonce"])
        return query["echostr"]

    def open(self, query: Mapping[str, str], body: bytes) -> Callback:
        """Check the signature, decrypt in safe mode, and parse; raises Forbidden or BadCallback."""
        lowered = body[:4096].lower()
        if b"<!doctype" in lowered or b"<!entity" in lowered:
            raise BadCallback("document type declarations are not accepted")
        try:
            timestamp, nonce = query["timestamp"], query["nonce"]
            if abs(self.wall_clock() - int(timestamp)) > MAX_CLOCK_SKEW.total_seconds():
                raise Forbidden("stale timestamp")
            if self.options.mode == "wecom":
                xml = self._decrypt(body, query["msg_signature"], timestamp, nonce)
                return Callback(_readable(parse_wecom_message(xml)), True, nonce, timestamp)
            check_signature(self.token, query["signature"], timestamp, nonce)
            if query.get("encrypt_type") == "aes":
                if self.crypto is None:
                    raise BadCallback("encrypted callback but WECHAT_AES_KEY is not set")
                xml = self._decrypt(body, query["msg_signature"], timestamp, nonce)
                return Callback(_readable(parse_message(xml)), True, nonce, timestamp)
            if self.crypto is not None:
                # Safe mode is configured: a plaintext body is not what WeChat would send.
                raise Forbidden("plaintext callback in safe mode")
            return Callback(_readable(parse_message(body)), False, nonce, timestamp)
        except KeyError as exc:
            raise Forbidden(f"missing {exc}") from None
        except (InvalidSignatureException, InvalidAppIdException) as exc:
            raise Forbidden(type(exc).__name__) from None
        except (ExpatError, ValueError, TypeError, AttributeError, UnicodeDecodeError) as exc:
            raise BadCallback(type(exc).__name__) from None

    def _decrypt(self, body: bytes, msg_signature: str, timestamp: str, nonce: str) -> str:
        """A payload that does not decrypt with our key was not encrypted by WeChat for us: Forbidden."""
        assert self.crypto is not None
        try:
            return str(self.crypto.decrypt_message(body, msg_signature, timestamp, nonce))
        except (InvalidSignatureException, InvalidAppIdException, KeyError):
            raise
        # struct.error: the padding left fewer than the four bytes of the length field (wechatpy
        # unpacks them without a check), which a corrupted last block does now and then.
        except (ValueError, TypeError, IndexError, UnicodeDecodeError, struct.error) as exc:
            raise Forbidden(f"undecryptable payload: {type(exc).__name__}") from None

    def reply_xml(self, callback: Callback, text: str) -> str:
        """The passive reply to `callback`, encrypted the way the callback came."""
        reply_class = WeComTextReply if self.options.mode == "wecom" else TextReply
        xml: str = reply_class(message=callback.message, content=cdata_safe(text)).render()
        if callback.encrypted:
            xml = self.crypto.encrypt_message(xml, callback.nonce, callback.timestamp)
        return xml


def _readable(message: Any) -> Any:
    """wechatpy converts fields when they are read: read the ones we use now, so bad values fail here."""
    if message is None:
        raise ValueError("empty callback")
    _ = (message.source, message.type, message.id, getattr(message, "event", None))
    return message


def dedupe_key(message: Any) -> str:
    """MsgId for messages; sender + CreateTime + event (+ its key) for events, which have no MsgId.

    Two menu taps in one second differ only by their EventKey: without it the second would get the
    first one's answer.
    """
    if getattr(message, "id", 0):
        return f"msg:{message.id}"
    raw = getattr(message, "_data", {}) or {}
    key = (
        f"evt:{message.source}:{raw.get('CreateTime', '')}:{raw.get('Event', '')}:{raw.get('EventKey') or ''}"
    )
    if len(key) <= 128:
        return key
    # A long menu key (up to 128 bytes itself) is kept distinct by its digest.
    return key[:88] + ":" + hashlib.sha256(key.encode()).hexdigest()[:39]


def to_incoming(message: Any) -> Incoming | None:
    """The core's view of a callback; None for what needs no answer (menu links, location reports)."""
    source = str(message.source)

    def text(value: str) -> Incoming:
        return Incoming(channel=CHANNEL, external_id=source, text=value)

    kind = message.type
    if kind == "text":
        return text(str(message.content or ""))
    if kind == "voice" and getattr(message, "recognition", None):
        # With speech recognition switched on, parents who cannot type can talk.
        return text(str(message.recognition))
    if kind == "event":
        event = message.event
        if event == "subscribe":
            return text("/start")
        if event in {"subscribe_scan", "scan"}:
            # A QR code made for an invite carries the code as its scene: binding in one scan.
            scene = str(getattr(message, "scene_id", "") or "")
            return text(f"/start {scene}".strip())
        if event == "click":
            key = str(getattr(message, "key", "") or "").strip()
            if not key:
                return None
            if ":" in key and not key.startswith("/"):
                return Incoming(channel=CHANNEL, external_id=source, payload=key)
            return text(key)
        return None
    # Pictures, stickers, files: the core answers an empty message with help, or re-asks the open question.
    return Incoming(channel=CHANNEL, external_id=source, text=None)
