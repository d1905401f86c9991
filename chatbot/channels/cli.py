"""Channel commands (telegram, wechat) and running the configured channels as the main job."""

from __future__ import annotations

from typing import Any

from chatbot.app import App


def register(sub: Any) -> None:
    """Channel subcommands are added by their channel modules as they land."""


def run_channels(app: App) -> int:
    """Run every configured channel, the scheduler and a delivery worker in this process."""
    raise SystemExit("no chat channel is implemented yet")
