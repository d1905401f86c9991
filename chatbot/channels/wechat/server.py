"""The callback endpoint WeChat calls: handshake, signature and AES checks, de-duplication, passive replies.

WeChat waits five seconds for an answer and retries three times. So every callback is claimed once
(by MsgId, or sender + CreateTime for events) in `processed_update`; a reply ready within
WECHAT_PASSIVE_TIMEOUT goes back in the HTTP response, and slower work answers "success" at once
and sends its reply afterwards as a customer-service message.

This module is the aiohttp side (requests, timing, late replies, start-up); reading and sealing
callbacks is in callback.py, and the database work of each update in updates.py. Their names are
re-exported here.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from chatbot.app import App
from chatbot.channels.wechat.callback import (
    MAX_CLOCK_SKEW,
    BadCallback,
    Callback,
    CallbackReader,
    Forbidden,
    dedupe_key,
    to_incoming,
)
from chatbot.channels.wechat.options import WeChatOptions
from chatbot.channels.wechat.sender import WeChatSender
from chatbot.channels.wechat.updates import DEDUPE_KEEP, DEFERRED_PURGE, Answer, Claim, Updates
from chatbot.clock import utcnow
from db.session import is_sqlite

log = logging.getLogger(__name__)
T = TypeVar("T")

SUCCESS = "success"


class CallbackServer:
    def __init__(
        self,
        app: App,
        options: WeChatOptions,
        sender: WeChatSender | None,
        clock: Callable[[], datetime] = utcnow,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        # Checks WECHAT_TOKEN and the AES settings first: a ConfigError here starts nothing.
        self.reader = CallbackReader(app.settings, options, wall_clock)
        self.app = app
        self.options = options
        self.sender = sender
        self.clock = clock
        self.updates = Updates(app, sender)
        self._tasks: set[asyncio.Task[Any]] = set()
        # Callbacks get threads of their own: outbox sends (slow HTTP) must never make them miss 5 s.
        threads = options.callback_threads or (2 if is_sqlite(app.settings.database_url) else 8)
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
        try:
            echo = self.reader.handshake_echo(request.query)
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
            await self._blocking(self.updates.deactivate, external_id)
            return self._text(SUCCESS)
        incoming = to_incoming(message)
        if incoming is None:
            return self._text(SUCCESS)
        claim = await self._blocking(self.updates.claim, dedupe_key(message), now)
        if not claim.fresh:
            log.info("a resent wechat callback was answered from the record")
            return self._passive(callback, claim.reply) if claim.reply else self._text(SUCCESS)
        task = asyncio.ensure_future(self._blocking(self.updates.process, incoming, dedupe_key(message), now))
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

    def open(self, query: Mapping[str, str], body: bytes) -> Callback:
        """Check the signature, decrypt in safe mode, and parse; raises Forbidden or BadCallback."""
        return self.reader.open(query, body)

    def purge(self, now: datetime) -> int:
        """Forget old de-duplication keys and stop holding month-old messages for a reply; returns keys removed."""
        return self.updates.purge(now)

    # --- replies ---------------------------------------------------------------------------------

    def _text(self, text: str) -> web.Response:
        return web.Response(text=text, content_type="text/plain")

    def _passive(self, callback: Callback, text: str) -> web.Response:
        return web.Response(text=self.reader.reply_xml(callback, text), content_type="application/xml")

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


async def start_site(server: CallbackServer, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Listen on host:port (0 picks a free port); returns the runner and the port."""
    runner = web.AppRunner(server.web_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    sockets = getattr(site._server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, int(bound)


__all__ = [
    "DEDUPE_KEEP",
    "DEFERRED_PURGE",
    "MAX_CLOCK_SKEW",
    "SUCCESS",
    "Answer",
    "BadCallback",
    "Callback",
    "CallbackServer",
    "Claim",
    "Forbidden",
    "dedupe_key",
    "start_site",
    "to_incoming",
]
