"""The callback endpoint WeChat calls: handshake, signature and AES checks, de-duplication, passive replies.

WeChat waits five seconds for an answer and retries three times. So every callback is claimed once
(by MsgId, or sender + CreateTime for events) in `processed_update`; a reply ready within
WECHAT_PASSIVE_TIMEOUT goes back in the HTTP response, and slower work answers "success" at once
and sends its reply afterwards as a customer-service message.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import struct
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from xml.parsers.expat import ExpatError

from aiohttp import web
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise import parse_message as parse_wecom_message
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.enterprise.replies import TextReply as WeComTextReply
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from chatbot.app import App
from chatbot.channels.wechat.options import WeChatOptions
from chatbot.channels.wechat.render import (
    CHANNEL,
    WECHAT_CAPS,
    cdata_safe,
    messages_for,
    render_text,
    split_text,
)
from chatbot.channels.wechat.sender import DEFERRED_KEEP, DEFERRED_MAX, WeChatSender
from chatbot.clock import utcnow
from chatbot.config import ConfigError
from chatbot.core.messages import Attachment, Incoming
from chatbot.core.router import pick_locale
from chatbot.delivery.outbox import take_held_for_reply
from chatbot.i18n import _, use_locale
from db.models import ChannelIdentity, OutboxMessage, OutboxStatus, ProcessedUpdate
from db.session import is_sqlite, transaction

log = logging.getLogger(__name__)
T = TypeVar("T")

SUCCESS = "success"
# Retries come within about 15 seconds; a day of keys is plenty and keeps the table small.
DEDUPE_KEEP = timedelta(days=1)
# A signed callback older than this is refused, so one captured before its key was purged cannot be replayed.
MAX_CLOCK_SKEW = timedelta(hours=12)
# Deferred messages are kept a while after delivery, for the operator's questions.
DEFERRED_PURGE = timedelta(days=30)


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


@dataclass(frozen=True)
class Answer:
    """What one callback produced: text messages (the first may go back passively) and files."""

    texts: list[str]
    attachments: list[Attachment]


@dataclass(frozen=True)
class Claim:
    fresh: bool
    reply: str | None = None


class CallbackServer:
    def __init__(
        self,
        app: App,
        options: WeChatOptions,
        sender: WeChatSender | None,
        clock: Callable[[], datetime] = utcnow,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        settings = app.settings
        if not settings.wechat_token:
            raise ConfigError("configuration error: WECHAT_TOKEN is not set")
        self.app = app
        self.options = options
        self.sender = sender
        self.clock = clock
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
        self._tasks: set[asyncio.Task[Any]] = set()
        # Callbacks get threads of their own: outbox sends (slow HTTP) must never make them miss 5 s.
        threads = options.callback_threads or (2 if is_sqlite(settings.database_url) else 8)
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wechat-cb")

    def web_app(self) -> web.Application:
        application = web.Application(client_max_size=self.options.max_body)
        application.router.add_get(self.options.path, self.verify)
        application.router.add_post(self.options.path, self.receive)
        application.on_shutdown.append(self._on_shutdown)
        return application

    # --- HTTP handlers -------------------------------------------------------------------------

    async def verify(self, request: web.Request) -> web.Response:
        """The URL check WeChat makes when the callback URL is saved: echo `echostr` back."""
        query = request.query
        try:
            if self.options.mode == "wecom":
                echo = self.crypto.check_signature(
                    query["msg_signature"], query["timestamp"], query["nonce"], query["echostr"]
                )
            else:
                check_signature(self.token, query["signature"], query["timestamp"], query["nonce"])
                echo = query["echostr"]
        except (KeyError, InvalidSignatureException, InvalidAppIdException):
            log.warning("wechat handshake refused: bad signature")
            return web.Response(status=403, text="forbidden")
        except (ValueError, TypeError):
            return web.Response(status=400, text="bad request")
        return web.Response(text=echo if isinstance(echo, str) else echo.decode())

    async def receive(self, request: web.Request) -> web.Response:
        """One message or event: verify, claim, route, and answer within WeChat's five seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.passive_timeout
        if request.content_length is not None and request.content_length > self.options.max_body:
            return web.Response(status=413, text="too large")
        body = await request.read()
        try:
            callback = self.open(request.query, body)
        except Forbidden:
            log.warning("wechat callback refused: bad signature")
            return web.Response(status=403, text="forbidden")
        except BadCallback:
            return web.Response(status=400, text="bad request")
        now = self.clock()
        message = callback.message
        external_id = str(message.source or "")
        if not external_id:
            return web.Response(status=400, text="bad request")
        if getattr(message, "event", None) == "unsubscribe":
            await self._blocking(self._deactivate, external_id)
            return self._text(SUCCESS)
        incoming = to_incoming(message)
        if incoming is None:
            return self._text(SUCCESS)
        claim = await self._blocking(self._claim, dedupe_key(message), now)
        if not claim.fresh:
            log.info("a resent wechat callback was answered from the record")
            return self._passive(callback, claim.reply) if claim.reply else self._text(SUCCESS)
        task = asyncio.ensure_future(self._blocking(self._process, incoming, dedupe_key(message), now))
        try:
            # The five seconds run from when WeChat sent the callback, so the claim's time counts too.
            answer = await asyncio.wait_for(asyncio.shield(task), timeout=max(0.0, deadline - loop.time()))
        except TimeoutError:
            log.info("wechat reply not ready in time; it will follow as a customer-service message")
            self._track(self._send_when_done(task, external_id))
            return self._text(SUCCESS)
        except Exception as exc:
            # The router already apologises for its own failures; this is rendering or the database.
            log.warning("wechat callback failed after routing: %s", type(exc).__name__)
            return self._text(SUCCESS)
        if len(answer.texts) > 1 or answer.attachments:
            self._track(self._send_later(external_id, Answer(answer.texts[1:], answer.attachments)))
        if not answer.texts:
            return self._text(SUCCESS)
        return self._passive(callback, answer.texts[0])

    # --- verification and parsing --------------------------------------------------------------

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

    # --- work done in a thread -----------------------------------------------------------------

    def _claim(self, key: str, now: datetime) -> Claim:
        factory = self.app.session_factory
        try:
            with transaction(factory) as session:
                session.add(ProcessedUpdate(channel=CHANNEL, key=key, at=now, reply=None))
            return Claim(fresh=True)
        except IntegrityError:
            with factory() as session:
                reply = session.scalars(
                    select(ProcessedUpdate.reply).where(
                        ProcessedUpdate.channel == CHANNEL, ProcessedUpdate.key == key
                    )
                ).first()
            return Claim(fresh=False, reply=reply)

    def _process(self, incoming: Incoming, key: str, now: datetime) -> Answer:
        """Route the update, then render its replies (plus any deferred messages) in the user's language."""
        replies = self.app.router.handle(incoming, now, WECHAT_CAPS)
        with transaction(self.app.session_factory) as session:
            identity = session.scalars(
                select(ChannelIdentity).where(
                    ChannelIdentity.channel == CHANNEL, ChannelIdentity.external_id == incoming.external_id
                )
            ).one_or_none()
            locale = pick_locale(identity, incoming, self.app.settings) if identity else None
            with use_locale(locale or self.app.settings.default_locale):
                texts = messages_for(replies, self._can_send)
                if identity is not None:
                    owed, skipped = take_held_for_reply(
                        session, identity.id, now, keep=DEFERRED_KEEP, most=DEFERRED_MAX
                    )
                    if skipped:
                        texts.append(
                            _("Older messages from the school not repeated here: {count}.").format(
                                count=skipped
                            )
                        )
                    for row in owed:
                        texts.extend(split_text(render_text(row.text, row.buttons)))
                        if row.buttons:
                            identity.last_buttons = list(row.buttons)
                if len(texts) > 1 and self.sender is None:
                    texts = [texts[0] + "\n" + _("(Shortened: the rest did not fit in one message.)")]
            session.execute(
                update(ProcessedUpdate)
                .where(ProcessedUpdate.channel == CHANNEL, ProcessedUpdate.key == key)
                .values(reply=texts[0] if texts else "")
            )
        files = [r.attachment for r in replies if r.attachment is not None and self._can_send(r.attachment)]
        return Answer(texts, files)

    def _can_send(self, attachment: Attachment) -> bool:
        return self.sender is not None and self.sender.can_send(attachment)

    def _deactivate(self, external_id: str) -> None:
        """Unsubscribed: stop queueing messages to this account until the user writes again."""
        with transaction(self.app.session_factory) as session:
            session.execute(
                update(ChannelIdentity)
                .where(ChannelIdentity.channel == CHANNEL, ChannelIdentity.external_id == external_id)
                .values(active=False)
            )

    def purge(self, now: datetime) -> int:
        """Forget old de-duplication keys and stop holding month-old messages for a reply; returns keys removed."""
        with transaction(self.app.session_factory) as session:
            result = session.execute(
                delete(ProcessedUpdate).where(
                    ProcessedUpdate.channel == CHANNEL, ProcessedUpdate.at < now - DEDUPE_KEEP
                )
            )
            # Messages nobody asked for in a month will not be: they stop waiting.
            session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.AWAITING_REPLY,
                    OutboxMessage.channel == CHANNEL,
                    OutboxMessage.created_at < now - DEFERRED_PURGE,
                )
                .values(status=OutboxStatus.CANCELLED)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    # --- replies ---------------------------------------------------------------------------------

    def _text(self, text: str) -> web.Response:
        return web.Response(text=text, content_type="text/plain")

    def _passive(self, callback: Callback, text: str) -> web.Response:
        reply_class = WeComTextReply if self.options.mode == "wecom" else TextReply
        xml = reply_class(message=callback.message, content=cdata_safe(text)).render()
        if callback.encrypted:
            xml = self.crypto.encrypt_message(xml, callback.nonce, callback.timestamp)
        return web.Response(text=xml, content_type="application/xml")

    async def _send_when_done(self, task: asyncio.Future[Answer], external_id: str) -> None:
        try:
            answer = await task
        except Exception as exc:
            log.warning("a slow wechat callback failed: %s", type(exc).__name__)
            return
        await self._send_later(external_id, answer)

    async def _send_later(self, external_id: str, answer: Answer) -> None:
        if not answer.texts and not answer.attachments:
            return
        if self.sender is None:
            log.warning("a late wechat reply was dropped: WECHAT_SECRET is not set, so nothing can be sent")
            return
        try:
            if answer.texts:
                await self._blocking(self.sender.send_texts, external_id, answer.texts)
            for attachment in answer.attachments:
                await self._blocking(self.sender.send_attachment, external_id, attachment)
        except Exception as exc:  # the user asked; log and move on rather than kill the server
            log.warning("a late wechat reply could not be sent: %s", type(exc).__name__)

    def _blocking(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Run database or API work in the callback threads, with the caller's context (locale)."""
        context = contextvars.copy_context()
        return asyncio.get_running_loop().run_in_executor(self._executor, context.run, fn, *args)

    def _track(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for replies still on their way (at shutdown, and in tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _on_shutdown(self, _application: web.Application) -> None:
        await self.drain()
        self._executor.shutdown(wait=False)


def _readable(message: Any) -> Any:
    """wechatpy converts fields when they are read: read the ones we use now, so bad values fail here."""
    if message is None:
        raise ValueError("empty callback")
    _ = (message.source, message.type, message.id, getattr(message, "event", None))
    return message


def dedupe_key(message: Any) -> str:
    """MsgId for messages; sender + CreateTime (+ event) for events, which have no MsgId."""
    if getattr(message, "id", 0):
        return f"msg:{message.id}"
    raw = getattr(message, "_data", {}) or {}
    return f"evt:{message.source}:{raw.get('CreateTime', '')}:{raw.get('Event', '')}"[:128]


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


async def start_site(server: CallbackServer, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Listen on host:port (0 picks a free port); returns the runner and the port."""
    runner = web.AppRunner(server.web_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    sockets = getattr(site._server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, int(bound)
