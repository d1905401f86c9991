"""`python bot.py wechat`: the WeChat callback server, with the delivery worker and scheduler beside it."""

from __future__ import annotations

import argparse
from typing import Any

from chatbot.app import App
from chatbot.channels.serve import serve_until_signal
from chatbot.channels.wechat.channel import WECHAT
from chatbot.commands import add_command, fail
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
    menu = add_command(
        sub,
        "wechat-menu",
        run_menu,
        _("Install the WeChat menu (default: aid, leave, and more) through the API."),
    )
    menu.add_argument("--file", help=_("a menu as JSON in WeChat's format, instead of the default"))
    menu.add_argument("--print", action="store_true", help=_("only print the menu, do not install it"))


def run_wechat(args: argparse.Namespace, app: App) -> int:
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

    serve_until_signal(app, [WECHAT])
    return 0


def default_menu() -> dict[str, Any]:
    """Click buttons whose keys are commands: the callback server treats a key starting with / as typed."""

    def click(name: str, command: str) -> dict[str, str]:
        return {"type": "click", "name": name, "key": f"/{command}"}

    return {
        "button": [
            click(_("Student aid"), "aid"),
            click(_("Leave"), "leave"),
            {
                "name": _("More"),
                "sub_button": [
                    click(_("Roll-call"), "rollcall"),
                    click(_("Notices"), "notices"),
                    click(_("Calendar"), "calendar"),
                    click(_("Language"), "language"),
                    click(_("Help"), "help"),
                ],
            },
        ]
    }


def run_menu(args: argparse.Namespace, app: App) -> int:
    import json
    from pathlib import Path

    from chatbot.channels.wechat.api import call
    from chatbot.channels.wechat.options import load_options
    from chatbot.channels.wechat.sender import WeChatSender

    menu = default_menu()
    if args.file:
        try:
            menu = json.loads(Path(args.file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return fail(_("Cannot read the menu file: {error}").format(error=type(exc).__name__))
        if not isinstance(menu, dict) or not isinstance(menu.get("button"), list):
            return fail(_('The menu file must be a JSON object with a list of buttons under "button".'))
    if args.print:
        print(json.dumps(menu, ensure_ascii=False, indent=2))
        return 0
    try:
        options = load_options()
        sender = WeChatSender(app.session_factory, app.settings, options)
    except ConfigError as exc:
        return fail(str(exc))
    client = sender.client
    try:
        if options.mode == "wecom":
            call(client, lambda: client.menu.create(options.agent_id, menu))
        else:
            call(client, lambda: client.menu.create(menu))
    except Exception as exc:  # one clear line for the operator, whatever WeChat said
        return fail(_("WeChat refused the menu: {error}").format(error=str(exc) or type(exc).__name__))
    print(_("Menu installed."))
    return 0
