"""`python bot.py wechat`: the WeChat callback server, with the delivery worker and scheduler beside it."""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

from chatbot.app import App
from chatbot.cli import add_command, fail
from chatbot.config import ConfigError
from chatbot.i18n import _


def register(sub: Any) -> None:
    parser = add_command(
        sub,
        "wechat",
        run_wechat,
        _("Run the WeChat callback server (Official Account or WeCom app) with delivery and scheduler."),
    )
    parser.add_argument("--port", type=int, help=_("listen on this port instead of WECHAT_PORT"))


def run_wechat(args: argparse.Namespace, app: App) -> int:
    from chatbot.channels.cli import serve_all
    from chatbot.channels.wechat import runtime
    from chatbot.channels.wechat.options import load_options
    from chatbot.channels.wechat.sender import WeChatSender
    from chatbot.channels.wechat.server import CallbackServer

    if not runtime.configured(app.settings):
        return fail(_("WECHAT_TOKEN is not set; see docs/wechat.md."))
    if args.port is not None and not 1 <= args.port <= 65535:
        return fail(_("The port must be between 1 and 65535."))
    try:
        options = load_options()
    except ConfigError as exc:
        return fail(str(exc))
    try:
        # Build (and throw away) the server and sender: they check the settings they depend on.
        CallbackServer(app, options, None)
        if app.settings.wechat_app_id and app.settings.wechat_secret:
            WeChatSender(app.session_factory, app.settings, options)
    except ConfigError as exc:
        return fail(str(exc))
    if args.port is not None:
        app.settings.wechat_port = args.port

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve_all(app, [runtime], stop)

    asyncio.run(main())
    return 0
