"""Fixtures: the fake WeChat API, the real callback server on loopback, and a fake WeChat server posting to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from chatbot.app import App
from chatbot.channels.wechat.options import WeChatOptions
from chatbot.channels.wechat.sender import WeChatSender
from chatbot.channels.wechat.server import CallbackServer, start_site
from tests.channels.wechat.fakes import AES_KEY, APP_ID, SECRET, TOKEN, FakeWeChatApi, FakeWeChatServer

TEMPLATES = {"alert": "TPL-ALERT", "reminder": "TPL-REMIND", "notice": "TPL-NOTICE"}


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeWeChatApi]:
    api = FakeWeChatApi()
    runner = web.AppRunner(api.web_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    api.base_url = f"http://127.0.0.1:{port}/"
    yield api
    await runner.cleanup()


def options(**overrides: Any) -> WeChatOptions:
    values: dict[str, Any] = {
        "template_alert": TEMPLATES["alert"],
        "template_reminder": TEMPLATES["reminder"],
        "template_notice": TEMPLATES["notice"],
        "_env_file": None,
    }
    values.update(overrides)
    return WeChatOptions(**values)


class Harness:
    """The running callback server plus the fake WeChat around it."""

    def __init__(self, app: App, api: FakeWeChatApi, now: datetime) -> None:
        self.app = app
        self.api = api
        self.now = now
        self.server: CallbackServer | None = None
        self.runner: web.AppRunner | None = None
        self.http: aiohttp.ClientSession | None = None
        self.url = ""

    def sender(
        self, opts: WeChatOptions | None = None, clock: Callable[[], datetime] | None = None
    ) -> WeChatSender:
        return WeChatSender(
            self.app.session_factory, self.app.settings, opts or options(), clock or (lambda: self.now)
        )

    async def start(self, *, safe: bool, wecom: bool = False, **option_overrides: Any) -> FakeWeChatServer:
        settings = self.app.settings
        settings.wechat_token = TOKEN
        settings.wechat_app_id = APP_ID
        settings.wechat_secret = SECRET
        settings.wechat_aes_key = AES_KEY if (safe or wecom) else None
        settings.wechat_api_base_url = self.api.base_url
        mode = "wecom" if wecom else "mp"
        option_overrides.setdefault("passive_timeout", 4.5)
        opts = options(mode=mode, agent_id=1000002 if wecom else None, **option_overrides)
        self.app.session_factory  # noqa: B018 — build the engine before threads race for it
        self.server = CallbackServer(self.app, opts, self.sender(opts), clock=lambda: self.now)
        self.runner, port = await start_site(self.server, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{port}{opts.path}"
        self.http = aiohttp.ClientSession()
        fake = FakeWeChatServer(self.url, self.http, safe=safe, wecom=wecom)
        fake.late = self.late_reply
        return fake

    async def late_reply(self, openid: str) -> str | None:
        """What reached the user as customer-service messages after a 'success' answer."""
        assert self.server is not None
        await self.server.drain()
        endpoint = "message/send" if self.server.options.mode == "wecom" else "message/custom/send"
        key = "touser"
        texts = [m["text"]["content"] for m in self.api.of(endpoint) if m.get(key) == openid]
        self.api.sent = [
            s for s in self.api.sent if not (s.endpoint == endpoint and s.body.get(key) == openid)
        ]
        return "\n".join(texts) if texts else None

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.drain()
        if self.http is not None:
            await self.http.close()
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def wechat(app: App, fake_api: FakeWeChatApi, now: datetime) -> AsyncIterator[Harness]:
    harness = Harness(app, fake_api, now)
    yield harness
    await harness.stop()
