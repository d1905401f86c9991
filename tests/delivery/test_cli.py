"""`bot.py outbox` and `bot.py deliver`, run in-process through `chatbot.cli.main` on the test database.

`outbox` output is pinned line by line. `deliver` talks to the fake Telegram Bot API on 127.0.0.1,
served from a helper thread, because the command runs its own event loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from chatbot.app import App
from chatbot.channels.telegram import runtime
from chatbot.cli import main
from chatbot.delivery.ports import PermanentFailure
from chatbot.delivery.worker import drain_once
from chatbot.i18n import use_locale
from db.models import ChannelIdentity, OutboxMessage, OutboxStatus, Priority
from db.session import transaction
from tests.channels.telegram.fake_bot_api import FakeBotApi
from tests.delivery.fakes import FakeSender, make_identities, queue_rows

Run = Callable[..., int]

HEADER_EMPTY = "发件箱：queued 0, sending 0, sent 0, failed 0, cancelled 0, awaiting_reply 0"


@pytest.fixture
def cli(empty_app: App, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Run:
    """`bot.py ARGS` on the test database, with no chat channel configured and a wide terminal."""
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    monkeypatch.setenv("DATABASE_URL", empty_app.settings.database_url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setenv("COLUMNS", "120")
    for name in (
        "TELEGRAM_TOKEN",
        "TELEGRAM_BASE_URL",
        "WECHAT_TOKEN",
        "QUIET_HOURS_START",
        "QUIET_HOURS_END",
    ):
        monkeypatch.delenv(name, raising=False)
    # One PTB Application per App object, cached by id(): a later test's App must not find this one's.
    monkeypatch.setattr(runtime, "_applications", {})

    def run(*argv: str) -> int:
        with use_locale("zh_Hans"):  # main sets the locale itself; this only keeps tests apart
            return main(list(argv), clock=empty_app.clock)

    return run


def out_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out.splitlines()


def three_rows(app: App, now: datetime) -> list[int]:
    """Row 1 sent, row 2 failed for good (with a reason in Chinese), row 3 queued for an hour later."""
    chats = make_identities(app.session_factory, 3, "telegram", now)
    first, second = queue_rows(app.session_factory, chats[:2], "telegram", now)
    [later] = queue_rows(
        app.session_factory,
        chats[2:],
        "telegram",
        now,
        priority=Priority.BULK,
        not_before=now + timedelta(hours=1),
    )
    with transaction(app.session_factory) as s:
        s.execute(
            update(OutboxMessage).where(OutboxMessage.id == first).values(ref_type="broadcast", ref_id=7)
        )
    sender = FakeSender("telegram")
    sender.script["chat-1"] = [PermanentFailure("对方账号已注销")]
    drain_once(app.session_factory, [sender], now=now)
    return [first, second, later]


# --- outbox ----------------------------------------------------------------------------------------


def test_outbox_lists_counts_per_status_then_rows_newest_first(
    cli: Run, empty_app: App, now: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second, later = three_rows(empty_app, now)
    assert cli("outbox") == 0
    assert out_lines(capsys) == [
        "发件箱：queued 1, sending 0, sent 1, failed 1, cancelled 0, awaiting_reply 0",
        f"#{later:>7} queued    telegram test             p20  try 0  2026-11-23T01:00",
        f"#{second:>7} failed    telegram test             p10  try 1  2026-11-23T00:00"
        "  permanent failure: 对方账号已注销",
        f"#{first:>7} sent      telegram test             p10  try 1  2026-11-23T00:00",
    ]


def test_outbox_of_an_empty_table_shows_zero_for_every_status(
    cli: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("outbox") == 0
    assert out_lines(capsys) == [HEADER_EMPTY]


def test_outbox_json_gives_one_object_per_row_without_the_text(
    cli: Run, empty_app: App, now: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second, later = three_rows(empty_app, now)
    with empty_app.session_factory() as s:
        identities = {row.id: row.identity_id for row in s.scalars(select(OutboxMessage))}
    assert cli("outbox", "--json") == 0
    captured = capsys.readouterr().out
    assert "对方账号已注销" in captured  # written as UTF-8, not as \u escapes
    assert [json.loads(line) for line in captured.splitlines()] == [
        {
            "id": later,
            "status": "queued",
            "channel": "telegram",
            "identity_id": identities[later],
            "kind": "test",
            "priority": 20,
            "attempts": 0,
            "not_before": "2026-11-23T01:00:00+00:00",
            "sent_at": None,
            "external_message_id": None,
            "ref": None,
            "last_error": None,
        },
        {
            "id": second,
            "status": "failed",
            "channel": "telegram",
            "identity_id": identities[second],
            "kind": "test",
            "priority": 10,
            "attempts": 1,
            "not_before": "2026-11-23T00:00:00+00:00",
            "sent_at": None,
            "external_message_id": None,
            "ref": None,
            "last_error": "permanent failure: 对方账号已注销",
        },
        {
            "id": first,
            "status": "sent",
            "channel": "telegram",
            "identity_id": identities[first],
            "kind": "test",
            "priority": 10,
            "attempts": 1,
            "not_before": "2026-11-23T00:00:00+00:00",
            "sent_at": "2026-11-23T00:00:00+00:00",
            "external_message_id": f"m{first}",
            "ref": "broadcast:7",
            "last_error": None,
        },
    ]


def test_outbox_status_filter_and_limit(
    cli: Run, empty_app: App, now: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _failed, later = three_rows(empty_app, now)
    header = "发件箱：queued 1, sending 0, sent 1, failed 1, cancelled 0, awaiting_reply 0"
    assert cli("outbox", "--status", "sent") == 0
    assert out_lines(capsys) == [
        header,
        f"#{first:>7} sent      telegram test             p10  try 1  2026-11-23T00:00",
    ]
    assert cli("outbox", "--limit", "1") == 0
    assert out_lines(capsys) == [
        header,
        f"#{later:>7} queued    telegram test             p20  try 0  2026-11-23T01:00",
    ]
    assert cli("outbox", "--status", "cancelled", "--json") == 0
    assert out_lines(capsys) == []


def test_outbox_shows_fifty_rows_unless_told(
    cli: Run, empty_app: App, now: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    [chat] = make_identities(empty_app.session_factory, 1, "telegram", now)
    ids = queue_rows(empty_app.session_factory, [chat] * 51, "telegram", now)
    assert cli("outbox") == 0
    lines = out_lines(capsys)
    assert lines[0] == "发件箱：queued 51, sending 0, sent 0, failed 0, cancelled 0, awaiting_reply 0"
    assert [int(line[1:8]) for line in lines[1:]] == ids[:0:-1]  # the newest 50
    assert cli("outbox", "--json", "--limit", "51") == 0
    assert len(out_lines(capsys)) == 51


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (
            ["--status", "lost"],
            "未知状态 lost；可用：queued, sending, sent, failed, cancelled, awaiting_reply。",
        ),
        (["--limit", "0"], "--limit 至少为 1。"),
    ],
    ids=["unknown-status", "zero-limit"],
)
def test_outbox_refuses_bad_options_with_one_line(
    cli: Run, capsys: pytest.CaptureFixture[str], argv: list[str], error: str
) -> None:
    assert cli("outbox", *argv) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", error + "\n")


def test_help_of_outbox_and_deliver_in_the_operators_language(
    cli: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (["outbox", "--help"], ["deliver", "--help"], ["--help"]):
        with pytest.raises(SystemExit) as exit_info:
            cli(*argv)
        assert exit_info.value.code == 0
    lines = out_lines(capsys)
    assert lines[:16] == [
        "用法：bot.py outbox [-h] [--status STATUS] [--limit LIMIT] [--json]",
        "",
        "为运维人员列出发件箱记录（最新的在前）。",
        "",
        "选项:",
        "  -h, --help       显示本帮助信息并退出",
        "  --status STATUS  只显示该状态的记录：queued, sending, sent, failed, cancelled, awaiting_reply",
        "  --limit LIMIT    最多显示这么多行（默认 50）",
        "  --json           每行一个 JSON 对象",
        "用法：bot.py deliver [-h] [--once]",
        "",
        "单独运行发送进程（不接收聊天消息）。",
        "",
        "选项:",
        "  -h, --help  显示本帮助信息并退出",
        "  --once      发送当前到期的消息，然后退出",
    ]
    listed = [line.split() for line in lines[16:]]
    assert ["outbox", "为运维人员列出发件箱记录（最新的在前）。"] in listed
    assert ["deliver", "单独运行发送进程（不接收聊天消息）。"] in listed


# --- deliver ---------------------------------------------------------------------------------------

# These rows are due long before any day the suite runs on (the moved-clock runs included), and
# urgent, so that quiet hours never hold them, whatever clock `deliver` is given.
LONG_AGO = datetime(2020, 1, 6, tzinfo=UTC)


@dataclass
class InterruptingBotApi(FakeBotApi):
    """The fake Bot API; after `interrupt_after` messages it presses Ctrl-C on this process."""

    interrupt_after: int | None = None

    def _count_sent(self, chat_id: int) -> None:
        super()._count_sent(chat_id)
        if self.interrupt_after is not None and sum(self._sent_count.values()) >= self.interrupt_after:
            self.interrupt_after = None
            os.kill(os.getpid(), signal.SIGINT)


@pytest.fixture
def bot_api(cli: Run, monkeypatch: pytest.MonkeyPatch) -> Iterator[InterruptingBotApi]:
    """The fake served by its own event loop in a helper thread; TELEGRAM_* point the CLI at it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-bot-api", daemon=True)
    thread.start()
    fake = InterruptingBotApi()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(30)
    monkeypatch.setenv("TELEGRAM_TOKEN", fake.token)
    monkeypatch.setenv("TELEGRAM_BASE_URL", fake.base_url)
    yield fake
    asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)
    loop.close()


def telegram_chats(app: App, *chat_ids: int) -> list[int]:
    with transaction(app.session_factory) as s:
        identities = [
            ChannelIdentity(
                channel="telegram",
                external_id=str(chat_id),
                active=True,
                failed_codes=0,
                last_buttons=[],
                created_at=LONG_AGO,
            )
            for chat_id in chat_ids
        ]
        s.add_all(identities)
        s.flush()
        return [identity.id for identity in identities]


def urgent_rows(app: App, identities: list[int]) -> list[int]:
    return queue_rows(app.session_factory, identities, "telegram", LONG_AGO, priority=Priority.URGENT)


def state(app: App) -> dict[int, tuple[OutboxStatus, int]]:
    with app.session_factory() as s:
        return {row.id: (row.status, row.attempts) for row in s.scalars(select(OutboxMessage))}


def test_deliver_without_a_chat_channel_says_what_to_set(
    cli: Run, empty_app: App, now: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    [row] = queue_rows(
        empty_app.session_factory,
        make_identities(empty_app.session_factory, 1, "telegram", now),
        "telegram",
        now,
    )
    assert cli("deliver", "--once") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert (
        captured.err
        == "没有配置任何聊天渠道，无法发送。请设置 TELEGRAM_TOKEN 或 WECHAT_* 后再运行 deliver。\n"
    )
    assert state(empty_app) == {row: (OutboxStatus.QUEUED, 0)}


def test_deliver_once_sends_what_is_due_and_counts_the_other_outcomes(
    cli: Run, empty_app: App, bot_api: InterruptingBotApi, capsys: pytest.CaptureFixture[str]
) -> None:
    fine, blocked, refused = urgent_rows(empty_app, telegram_chats(empty_app, 9001, 9002, 9003))
    bot_api.block(9002)
    bot_api.fail("sendMessage", 400, chat_id=9003, description="Bad Request: chat not found")
    assert cli("deliver", "--once") == 0
    assert out_lines(capsys) == ["已发送 1；其他结果：失败 1、收件人已失效 1。"]
    assert [call.text for call in bot_api.sent(9001)] == ["hello 0"]
    assert state(empty_app) == {
        fine: (OutboxStatus.SENT, 1),
        blocked: (OutboxStatus.FAILED, 1),
        refused: (OutboxStatus.FAILED, 1),
    }
    assert cli("deliver", "--once") == 0
    assert out_lines(capsys) == ["已发送 0；其他结果：-。"]


def test_deliver_once_paces_each_chat_at_the_configured_rate(
    cli: Run,
    empty_app: App,
    bot_api: InterruptingBotApi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # One message per 1,000 seconds per chat: the second one to the same chat is put back, not sent.
    monkeypatch.setenv("TELEGRAM_RATE_PER_CHAT_PER_SECOND", "0.001")
    [chat] = telegram_chats(empty_app, 9001)
    first, second = urgent_rows(empty_app, [chat, chat])
    assert cli("deliver", "--once") == 0
    assert out_lines(capsys) == ["已发送 1；其他结果：推迟 1。"]
    assert [call.text for call in bot_api.sent(9001)] == ["hello 0"]
    assert state(empty_app) == {first: (OutboxStatus.SENT, 1), second: (OutboxStatus.QUEUED, 0)}


def test_deliver_runs_a_worker_for_every_channel_until_ctrl_c(
    cli: Run,
    empty_app: App,
    bot_api: InterruptingBotApi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # WeChat can push too (it has no rows here, so its API, on a closed loopback port, is never called).
    for name, value in {
        "WECHAT_TOKEN": "t",
        "WECHAT_APP_ID": "wx1",
        "WECHAT_SECRET": "s",
        "WECHAT_API_BASE_URL": "http://127.0.0.1:9",
    }.items():
        monkeypatch.setenv(name, value)
    # One message per 1,000 seconds per chat: 9001's second message waits, even in the long-running worker.
    monkeypatch.setenv("TELEGRAM_RATE_PER_CHAT_PER_SECOND", "0.001")
    first, second = telegram_chats(empty_app, 9001, 9002)
    queued, later, stuck = urgent_rows(empty_app, [first, first, second])
    with transaction(empty_app.session_factory) as s:
        # A worker died while sending this one, long ago.
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == stuck)
            .values(status=OutboxStatus.SENDING, claimed_at=LONG_AGO, attempts=1)
        )
    bot_api.interrupt_after = 2
    assert cli("deliver") == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["发送进程正在为 telegram, wechat 运行。按 Ctrl-C 停止。"]
    # Log lines (LOG_LEVEL=WARNING), without their time stamps.
    assert [line.split(" ", 2)[2] for line in captured.err.splitlines()] == [
        "WARNING chatbot.delivery.worker: recovered 1 outbox rows stuck in sending"
    ]
    assert [call.text for call in bot_api.sent(9001)] == ["hello 0"]
    assert [call.text for call in bot_api.sent(9002)] == ["hello 2"]
    assert state(empty_app) == {
        queued: (OutboxStatus.SENT, 1),
        later: (OutboxStatus.QUEUED, 0),
        stuck: (OutboxStatus.SENT, 2),
    }
