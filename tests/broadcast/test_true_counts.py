"""Every count a sender is told about a notice is a count of rows: outbox rows queued (chat accounts),
the people those rows go to, and the people no row can reach because they have no chat account.

Regressions of the "false counts" review: a reminder that reached nobody claimed 44 people and used
up the one reminder; the summary said "已发送 1 / 1" for a notice to 45 people.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from db.models import AuditLog, OutboxMessage, OutboxStatus
from db.models.broadcast import Broadcast, BroadcastRecipient
from db.session import transaction
from tests.broadcast.bc_chat_helpers import BotCli, CliResult, send_button, to_preview
from tests.broadcast.bc_service_helpers import add_account
from tests.broadcast.helpers import deliver, link, parents_of_class, parents_of_school
from tests.conftest import DemoPeople


@pytest.fixture
def bot_cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    app: App,
    now: datetime,
) -> BotCli:
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    for name in ("TIMEZONE", "DEFAULT_LOCALE", "LOG_FILE", "TELEGRAM_TOKEN", "WECHAT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return BotCli(monkeypatch, capsys, app, now)


def rows_and_people(app: App, notice: int, kind: str, status: OutboxStatus | None = None) -> tuple[int, int]:
    """(outbox rows, distinct people) of this notice and kind, optionally in one status."""
    query = select(func.count(), func.count(func.distinct(OutboxMessage.person_id))).where(
        OutboxMessage.ref_type == "broadcast", OutboxMessage.ref_id == notice, OutboxMessage.kind == kind
    )
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    with app.session_factory() as s:
        rows, people = s.execute(query).one()
    return int(rows), int(people)


def recipients(app: App, notice: int, *, unconfirmed: bool = False) -> int:
    query = select(func.count()).where(BroadcastRecipient.broadcast_id == notice)
    if unconfirmed:
        query = query.where(BroadcastRecipient.acked_at.is_(None))
    with app.session_factory() as s:
        return int(s.scalar(query) or 0)


def remind_audits(app: App, notice: int) -> list[dict[str, int]]:
    with app.session_factory() as s:
        return [
            a.details
            for a in s.scalars(
                select(AuditLog).where(AuditLog.action == "broadcast.remind").order_by(AuditLog.id)
            )
            if a.details["broadcast_id"] == notice
        ]


def reminded_at(app: App, notice: int) -> datetime | None:
    with app.session_factory() as s:
        broadcast = s.get(Broadcast, notice)
        assert broadcast is not None
        return broadcast.reminded_at


def test_cli_reminder_to_only_unbound_people_queues_nothing_and_keeps_the_reminder(
    app: App, bot_cli: BotCli, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    parents = parents_of_class(app, 1)
    bound = parents[:2]
    link(app, bound, now)
    add_account(app, bound[0], now, channel="telegram")  # one of them on two chat accounts
    created = bot_cli("broadcast", "--as", "principal", "--to", "class:1", "--text", "Meeting", "--ack")
    with app.session_factory() as s:
        notice = int(s.scalars(select(Broadcast.id)).one())
    rows, reached = rows_and_people(app, notice, "notice")
    people = recipients(app, notice)
    assert (rows, reached, people) == (3, 2, len(parents))
    assert created == CliResult(
        0,
        f"Notice #{notice}: {rows} chat messages queued for {reached} of {people} people, from Nov 23, 08:00.\n"
        f"{people - reached} people have no chat account linked and will not receive it.\n",
        "",
    )
    # Both who have a chat account confirm: everyone left has none.
    for parent in bound:
        console.send(parent, payload=f"bcack:{notice}")
    waiting = recipients(app, notice, unconfirmed=True)
    assert waiting == people - 2

    later = now + timedelta(hours=2)
    bot_cli.now = later
    first = bot_cli("notices", "--as", "principal", "--remind", str(notice))
    assert rows_and_people(app, notice, "notice_reminder") == (0, 0)
    assert first == CliResult(
        1,
        f"No reminder was queued for notice #{notice}: none of the {waiting} people who have not confirmed "
        "has a chat account linked.\n"
        "The one reminder is not used up; you can send it once they link a chat account.\n",
        "",
    )
    assert reminded_at(app, notice) is None
    assert remind_audits(app, notice) == [
        {"broadcast_id": notice, "people": 0, "messages": 0, "unreachable": waiting}
    ]

    # Two of them link a chat account: the reminder is still allowed, and says what it queued.
    link(app, parents[2:4], later)
    second = bot_cli("notices", "--as", "principal", "--remind", str(notice))
    rows, reached = rows_and_people(app, notice, "notice_reminder")
    assert (rows, reached) == (2, 2)
    assert second == CliResult(
        0,
        f"Reminder for notice #{notice} queued: {rows} chat messages to {reached} people who have not "
        "confirmed.\n"
        f"{waiting - reached} people who have not confirmed have no chat account linked and could not be "
        "reminded.\n",
        "",
    )
    assert reminded_at(app, notice) == later
    assert remind_audits(app, notice)[1] == {
        "broadcast_id": notice,
        "people": reached,
        "messages": rows,
        "unreachable": waiting - reached,
    }
    # That one used it up.
    assert bot_cli("notices", "--as", "principal", "--remind", str(notice)).code == 2
    assert rows_and_people(app, notice, "notice_reminder") == (2, 2)


def test_chat_reminder_counts_rows_and_an_unreached_one_can_be_pressed_again(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    parents = parents_of_school(app, 1)
    link(app, parents[:1], now)
    key = send_button(
        to_preview(
            console, demo.principal, scope="school:1:0", audience="parents", text="停水", when="now", ack="1"
        )
    )
    [sent] = console.send(demo.principal, payload=key)
    with app.session_factory() as s:
        notice = int(s.scalars(select(Broadcast.id)).one())
    rows, reached = rows_and_people(app, notice, "notice")
    people = recipients(app, notice)
    assert (rows, reached, people) == (1, 1, len(parents))
    assert sent.text == (
        f"通知 #{notice}：已为 {people} 人中的 {reached} 人排队 {rows} 条消息，从 11月23日 08:00 开始发送。\n"
        f"{people - reached} 人没有绑定聊天账号，收不到这条通知。"
    )
    console.send(parents[0], payload=f"bcack:{notice}")
    waiting = recipients(app, notice, unconfirmed=True)

    [nobody] = console.send(demo.principal, payload=f"bcrem:{notice}")
    assert rows_and_people(app, notice, "notice_reminder") == (0, 0)
    assert nobody.text == (
        f"通知 #{notice} 没有发出提醒：未确认的 {waiting} 人都没有绑定聊天账号，未能提醒。\n"
        "提醒次数没有用掉，他们绑定聊天账号后仍可发送。"
    )
    # The status still offers the reminder, and it can be used once someone links an account.
    [status] = console.send(demo.principal, payload=f"bcst:{notice}")
    assert f"bcrem:{notice}" in [b.payload for b in status.flat_buttons()]
    link(app, parents[1:4], now)
    [reminded] = console.send(demo.principal, payload=f"bcrem:{notice}")
    rows, reached = rows_and_people(app, notice, "notice_reminder")
    assert (rows, reached) == (3, 3)
    assert reminded.text == (
        f"已向未确认通知 #{notice} 的 {reached} 人排队发送提醒（{rows} 条消息）。\n"
        f"{waiting - reached} 人没有绑定聊天账号，未能提醒。"
    )
    assert [a["messages"] for a in remind_audits(app, notice)] == [0, 3]
    assert reminded_at(app, notice) == now


def test_the_summary_counts_chat_accounts_sent_out_of_the_people_targeted(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    parents = parents_of_class(app, 1)
    link(app, parents[:1], now)
    key = send_button(
        to_preview(
            console, demo.principal, scope="school:1:0", audience="parents", text="停水", when="now", ack="0"
        )
    )
    console.send(demo.principal, payload=key)
    with app.session_factory() as s:
        notice = int(s.scalars(select(Broadcast.id)).one())
    people = recipients(app, notice)
    delivered = deliver(app, now)

    sent, reached = rows_and_people(app, notice, "notice", OutboxStatus.SENT)
    total, _people = rows_and_people(app, notice, "notice")
    failed, _failed_people = rows_and_people(app, notice, "notice", OutboxStatus.FAILED)
    assert (sent, total, failed, reached) == (1, 1, 0, 1)
    assert people == len(parents_of_school(app, 1)) > 1
    [summary] = [m.text for m in delivered if m.external_id == f"person-{demo.principal}"]
    assert summary == (
        f"通知 #{notice}（共 {people} 人）发送完毕：已发送 {sent} / {total} 个聊天账号，失败 {failed}。\n"
        f"{people - reached} 人无法送达（未绑定聊天账号）。"
    )


def test_cancelling_says_how_many_rows_it_stopped(
    app: App, bot_cli: BotCli, demo: DemoPeople, now: datetime
) -> None:
    parents = parents_of_class(app, 1)
    link(app, parents[:3], now)
    add_account(app, parents[0], now, channel="telegram")
    bot_cli("broadcast", "--as", "principal", "--to", "class:1", "--text", "Trip", "--at", "2026-11-24 09:00")
    with app.session_factory() as s:
        notice = int(s.scalars(select(Broadcast.id)).one())
    with transaction(app.session_factory) as s:
        # One message already out before the cancel: it is not counted as stopped.
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.ref_id == notice).limit(1)).one()
        row.status = OutboxStatus.SENT
    result = bot_cli("notices", "--as", "principal", "--cancel", str(notice))
    stopped, _people = rows_and_people(app, notice, "notice", OutboxStatus.CANCELLED)
    assert stopped == 3
    assert result == CliResult(0, f"Notice #{notice} cancelled: {stopped} messages will not be sent.\n", "")
