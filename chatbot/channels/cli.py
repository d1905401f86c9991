"""The channels' commands: each channel type's own (`bot.py telegram`, `bot.py wechat`), the main job
with every configured channel, and `bot.py deliver`, a delivery worker on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from chatbot.app import App
from chatbot.channels.registry import configured_types
from chatbot.channels.serve import serve_until_signal
from chatbot.channels.telegram import cli as telegram_cli
from chatbot.channels.wechat import cli as wechat_cli
from chatbot.commands import add_command, fail
from chatbot.config import ConfigError
from chatbot.delivery.worker import DeliveryConfig, Worker, drain_once
from chatbot.i18n import N_, _

# The worker's outcome keys, as the operator reads them in `deliver --once`.
OUTCOME_LABELS = {
    "retry": N_("to retry"),
    "failed": N_("failed"),
    "gone": N_("recipient gone"),
    "deferred": N_("deferred"),
    "held": N_("held for quiet hours"),
}


# Each channel's own subcommands (`bot.py telegram`, `bot.py wechat`, `bot.py wechat-menu`).
CHANNEL_COMMANDS = (telegram_cli.register, wechat_cli.register)


def register(sub: Any) -> None:
    for add_commands in CHANNEL_COMMANDS:
        add_commands(sub)
    deliver = add_command(
        sub, "deliver", cmd_deliver, _("Run a delivery worker on its own (no chat updates).")
    )
    deliver.add_argument("--once", action="store_true", help=_("send what is due now, then exit"))


def run_channels(app: App) -> int:
    """The main job with every channel the settings turn on."""
    types = configured_types(app.settings)
    if not types:
        print(_("No chat channel is configured: set TELEGRAM_TOKEN or WECHAT_TOKEN."), file=sys.stderr)
        return 2
    try:
        serve_until_signal(app, types)
    except ConfigError as exc:  # e.g. the Bot API rejected the token: one line, not a traceback
        print(str(exc), file=sys.stderr)
        return 2
    return 0


def cmd_deliver(args: argparse.Namespace, app: App) -> int:
    senders = [s for s in (t.sender(app) for t in configured_types(app.settings)) if s is not None]
    if not senders:
        return fail(
            _(
                "No chat channel is configured, so nothing can be delivered. "
                "Set TELEGRAM_TOKEN or the WECHAT_* settings, then run deliver again."
            )
        )
    config = DeliveryConfig.from_settings(app.settings)
    if args.once:
        report = drain_once(app.session_factory, senders, config=config, clock=app.clock)
        print(
            _("Delivered {sent}; other outcomes: {other}.").format(
                sent=report.sent,
                other=_(", ").join(
                    f"{_(OUTCOME_LABELS.get(k, k))} {v}"
                    for k, v in sorted(report.counts.items())
                    if k != "sent"
                )
                or "-",
            )
        )
        return 0

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await Worker(app.session_factory, senders, config, clock=app.clock).run(stop)

    print(
        _("Delivery worker running for {channels}. Press Ctrl-C to stop.").format(
            channels=", ".join(s.channel for s in senders)
        )
    )
    asyncio.run(main())
    return 0
