"""The channel runtime contract (see chatbot.channels.cli): configured, serve, sender."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from chatbot.app import App
from chatbot.channels.wechat.options import load_options
from chatbot.channels.wechat.sender import WeChatSender
from chatbot.channels.wechat.server import CallbackServer, start_site
from chatbot.config import Settings

log = logging.getLogger(__name__)
PURGE_EVERY_SECONDS = 3600


def configured(settings: Settings) -> bool:
    return bool(settings.wechat_token)


def sender(app: App) -> WeChatSender | None:
    """The outbox Sender, or None when no app id / secret is set (passive replies only)."""
    if not app.settings.wechat_app_id or not app.settings.wechat_secret:
        log.warning("WECHAT_APP_ID/WECHAT_SECRET not set: WeChat can answer but not push messages")
        return None
    return WeChatSender(app.session_factory, app.settings, load_options())


async def serve(app: App, stop: asyncio.Event, port: int | None = None) -> None:
    """Run the callback server on WECHAT_LISTEN:WECHAT_PORT until `stop` is set."""
    options = load_options()
    server = CallbackServer(app, options, sender(app), app.clock)
    runner, bound = await start_site(server, app.settings.wechat_listen, port or app.settings.wechat_port)
    log.info("wechat callbacks on %s:%s%s", app.settings.wechat_listen, bound, options.path)
    try:
        while not stop.is_set():
            await asyncio.to_thread(server.purge, app.clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=PURGE_EVERY_SECONDS)
    finally:
        await runner.cleanup()
