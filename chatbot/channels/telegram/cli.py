"""`python bot.py telegram`: the Telegram bot with the delivery worker and scheduler beside it."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from telegram.error import TelegramError

from chatbot.app import App
from chatbot.channels.serve import serve_until_signal
from chatbot.channels.telegram.channel import TELEGRAM
from chatbot.commands import add_command, fail
from chatbot.config import ConfigError
from chatbot.i18n import _


def register(sub: Any) -> None:
    parser = add_command(
        sub,
        "telegram",
        cmd_telegram,
        _(
            "Run the Telegram bot: long polling, or a webhook server when WEBHOOK_URL is set "
            "(the delivery worker and scheduler run alongside)."
        ),
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help=_("only check the token and the Bot API server (getMe), print the bot's name and exit"),
    )


def cmd_telegram(args: argparse.Namespace, app: App) -> int:
    from chatbot.channels.telegram import runtime

    problem = runtime.check_settings(app.settings)
    if problem:
        return fail(_("Telegram is not set up: {problem}.").format(problem=problem))
    if args.check:
        return asyncio.run(_check(app))
    try:
        serve_until_signal(app, [TELEGRAM])
    except ConfigError as exc:  # e.g. the Bot API rejected the token
        return fail(str(exc))
    return 0


async def _check(app: App) -> int:
    from chatbot.channels.telegram.handlers import build_application

    bot = build_application(app).bot
    try:
        async with bot:
            me = bot.bot
    except TelegramError as exc:
        return fail(_("The Bot API did not accept the token: {error}").format(error=type(exc).__name__))
    print(_("Token OK: this is @{username} (id {id}).").format(username=me.username, id=me.id))
    return 0
