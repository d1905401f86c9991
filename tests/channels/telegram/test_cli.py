"""`python bot.py telegram`: settings checks, --check, and the real process answering over polling."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from chatbot.app import App
from chatbot.channels.telegram.cli import _check, cmd_telegram
from tests.channels.telegram.conftest import telegram_app
from tests.channels.telegram.fake_bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parents[3]


def test_without_a_token_it_says_what_to_set(app: App, capsys: pytest.CaptureFixture[str]) -> None:
    assert cmd_telegram(argparse.Namespace(check=False), app) == 2
    assert "TELEGRAM_TOKEN" in capsys.readouterr().err


async def test_check_names_the_bot(app: App, fake: FakeBotApi, capsys: pytest.CaptureFixture[str]) -> None:
    assert await _check(telegram_app(app, fake)) == 0
    assert "@jiaxiao_test_bot" in capsys.readouterr().out
    assert await _check(telegram_app(app, fake, telegram_token="999:not-this-bot")) == 2
    assert "InvalidToken" in capsys.readouterr().err


@pytest.mark.subprocess
async def test_the_bot_process_answers_and_stops_on_sigterm(app: App, fake: FakeBotApi) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": app.settings.database_url,  # migrated already
        "TELEGRAM_TOKEN": fake.token,
        "TELEGRAM_BASE_URL": fake.base_url,
        "LOG_LEVEL": "WARNING",
    }
    for key in ("WEBHOOK_URL", "WECHAT_TOKEN"):
        env.pop(key, None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "bot.py", "telegram", cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        await fake.wait_for(
            lambda: bool(fake.called("getUpdates")) or process.returncode is not None, timeout=60
        )
        fake.inject_message(9001, "/help", language_code="en")
        await fake.wait_for(lambda: bool(fake.sent(9001)), timeout=30)
        assert "/start" in fake.sent(9001)[0].text
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()[-2000:]
