"""`bot.py deliver` reads the App's clock: rows due later than it wait, and sent rows carry its time.

Reuses the fixtures of test_cli.py (the CLI on the test database, the fake Telegram Bot API on
127.0.0.1). The suite's `now` lies in the past, so a row due an hour after it is already due by the
wall clock: only a worker on the App's clock leaves it queued.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from chatbot.app import App
from db.models import OutboxMessage, OutboxStatus, Priority
from tests.delivery.fakes import queue_rows
from tests.delivery.test_cli import (  # noqa: F401  (fixtures)
    InterruptingBotApi,
    Run,
    bot_api,
    cli,
    out_lines,
    telegram_chats,
)


def rows_now_and_later(app: App, now: datetime) -> tuple[int, int]:
    [chat] = telegram_chats(app, 9001)
    [due] = queue_rows(app.session_factory, [chat], "telegram", now, priority=Priority.URGENT)
    [later] = queue_rows(
        app.session_factory,
        [chat],
        "telegram",
        now,
        priority=Priority.URGENT,
        not_before=now + timedelta(hours=1),
        text="later",
    )
    return due, later


def outcome(app: App) -> dict[int, tuple[OutboxStatus, int, datetime | None]]:
    with app.session_factory() as s:
        return {row.id: (row.status, row.attempts, row.sent_at) for row in s.scalars(select(OutboxMessage))}


def test_deliver_once_sends_only_what_is_due_by_the_apps_clock(
    cli: Run,  # noqa: F811
    empty_app: App,
    now: datetime,
    bot_api: InterruptingBotApi,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    due, later = rows_now_and_later(empty_app, now)
    assert cli("deliver", "--once") == 0
    assert out_lines(capsys) == ["已发送 1；其他结果：-。"]
    assert [call.text for call in bot_api.sent(9001)] == ["hello 0"]
    assert outcome(empty_app) == {
        due: (OutboxStatus.SENT, 1, now),
        later: (OutboxStatus.QUEUED, 0, None),
    }


def test_deliver_worker_sends_only_what_is_due_by_the_apps_clock(
    cli: Run,  # noqa: F811
    empty_app: App,
    now: datetime,
    bot_api: InterruptingBotApi,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    due, later = rows_now_and_later(empty_app, now)
    bot_api.interrupt_after = 1
    assert cli("deliver") == 0
    assert out_lines(capsys) == ["发送进程正在为 telegram 运行。按 Ctrl-C 停止。"]
    assert [call.text for call in bot_api.sent(9001)] == ["hello 0"]
    assert outcome(empty_app) == {
        due: (OutboxStatus.SENT, 1, now),
        later: (OutboxStatus.QUEUED, 0, None),
    }
