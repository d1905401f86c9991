"""/notice end to end through the console: languages, acknowledgements, reminder, bad input."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from db.models import AuditLog, OutboxMessage
from db.models.broadcast import Broadcast, BroadcastRecipient
from tests.broadcast.helpers import by_person, deliver, link, parents_of_school, school_id, texts


def walk(console: ConsoleChannel, who: int, steps: list[str]) -> str:
    """Send each line in turn; return the text of the last replies."""
    replies = []
    for step in steps:
        replies = console.send(who, step)
    return texts(replies)


def count(app: App, model: type) -> int:
    with app.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def only_broadcast(app: App) -> Broadcast:
    with app.session_factory() as s:
        return s.scalars(select(Broadcast)).one()


def test_a_school_notice_reaches_each_parent_in_their_language_and_counts_acks(
    app: App,
    console: ConsoleChannel,
    demo,
    now: datetime,  # type: ignore[no-untyped-def]
) -> None:
    school = school_id(app)
    parents = parents_of_school(app, school)
    english = set(parents[::3])
    traditional = parents[1]
    link(app, parents, now, locales={**{p: "en" for p in english}, traditional: "zh_Hant"})

    preview = walk(
        console,
        demo.principal,
        [
            "/notice",
            "1",  # 红星小学
            "1",  # parents
            "明天上午8点开家长会，请准时参加。",
            "2",  # add an English version
            "Parents' meeting tomorrow at 8:00. Please be on time.",
            "2",  # no more languages
            "1",  # send now
            "1",  # ask for confirmation
        ],
    )
    assert f"收件人：{len(parents)} 人（家长 {len(parents)}，教师 0）" in preview
    assert "需要确认：是" in preview
    assert "English" in preview
    n = len(parents)
    assert f"通知 #1：已为 {n} 人中的 {n} 人排队 {n} 条消息" in walk(console, demo.principal, ["1"])

    messages = by_person(app, deliver(app, now))
    notice = only_broadcast(app)
    for parent in parents:
        [message] = messages[parent]
        if parent in english:
            assert "Parents' meeting tomorrow" in message.text
            assert message.text.startswith("📢 Notice")
            assert message.buttons == [[{"label": "Got it", "payload": f"bcack:{notice.id}"}]]
        else:
            assert "明天上午8点开家长会" in message.text
            assert message.buttons[0][0]["label"] == "收到"
    assert "看完請點「收到」" in messages[traditional][0].text
    # The principal (console cannot edit) gets only the final summary.
    [summary] = messages[demo.principal]
    assert f"（共 {n} 人）发送完毕：已发送 {n} / {n} 个聊天账号，失败 0" in summary.text

    chinese_parent = next(p for p in parents if p not in english and p != traditional)
    english_parent = next(iter(english))
    assert console.send(chinese_parent, "1")[0].text == "收到，谢谢您的确认！"
    assert console.send(english_parent, "1")[0].text == "Thank you, your confirmation was recorded."
    assert (
        console.send(chinese_parent, payload=f"bcack:{notice.id}")[0].text == "您已经确认过这条通知，谢谢。"
    )
    outsider = parents_of_school(app, school_id(app, "东乡第一初级中学"))[-1]
    assert console.send(outsider, payload=f"bcack:{notice.id}")[0].text == "这条通知不是发给您的。"

    status = texts(console.send(demo.principal, payload=f"bcst:{notice.id}"))
    assert f"已确认：2 / {len(parents)}" in status
    assert f"已送达 {len(parents)}" in status
    remind = texts(console.send(demo.principal, payload=f"bcrem:{notice.id}"))
    assert f"已向未确认通知 #{notice.id} 的 {n - 2} 人排队发送提醒（{n - 2} 条消息）。" in remind
    reminded = by_person(app, deliver(app, now))
    assert set(reminded) == set(parents) - {chinese_parent, english_parent}
    assert all("提醒" in m[0].text or "Reminder" in m[0].text for m in reminded.values())
    assert "只能提醒一次" in texts(console.send(demo.principal, payload=f"bcrem:{notice.id}"))

    with app.session_factory() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "broadcast.create")).one()
        assert audit.actor_person_id == demo.principal
        assert audit.target == f"school:{school}/parents"
        assert audit.details["recipients"] == len(parents)
        assert s.scalars(select(AuditLog).where(AuditLog.action == "broadcast.remind")).one()


START = ["/notice", "1", "1"]  # principal: 红星小学, parents


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (["/notice", "school:99/parents"], "没有这个学校、年级、班级或地区"),
        (["/notice", "kindergarten:1"], "无法识别的目标"),
        (["/notice", "class:1/grade:3"], "年级只能写在学校后面"),
        (["/notice", "region:1/parents"], "您无权向"),
        ([*START, "   "], "通知内容是空的"),
        ([*START, "字" * 1001], "内容有 1,001 个字，上限是 1,000 字"),
        ([*START, "开会", "3", "2020-01-01 08:00"], "已经过去了"),
        ([*START, "开会", "3", "next week-ish"], "看不懂这个时间"),
        ([*START, "开会", "3", "2027-12-01 08:00"], "最多只能提前 90 天"),
        ([*START, "开会", "3", "1", "1", "2"], "已取消，没有发送任何内容"),
    ],
)
def test_bad_input_gets_a_clear_message_and_creates_nothing(
    app: App,
    console: ConsoleChannel,
    demo,
    steps: list[str],
    expected: str,  # type: ignore[no-untyped-def]
) -> None:
    assert expected in walk(console, demo.principal, steps)
    assert count(app, Broadcast) == 0
    assert count(app, BroadcastRecipient) == 0
    assert count(app, OutboxMessage) == 0


def test_out_of_scope_targets_are_refused_for_a_class_teacher(
    app: App, console: ConsoleChannel, demo
) -> None:  # type: ignore[no-untyped-def]
    school = school_id(app)
    assert "您无权向" in walk(console, demo.teacher, ["/notice", f"school:{school}/parents"])
    assert "您无权向" in walk(console, demo.teacher, ["/notice", f"school:{school}/grade:4/parents"])
    # Their own class is offered as the only button.
    replies = console.send(demo.teacher, "/notice")
    assert [b.label for b in replies[-1].flat_buttons()] == ["红星小学 3年级1班"]
    assert "您没有可以发通知的" not in texts(replies)
    assert "抱歉" in walk(console, demo.parent, ["/notice"])


def test_pressing_send_twice_sends_one_notice(app: App, console: ConsoleChannel, demo, now: datetime) -> None:  # type: ignore[no-untyped-def]
    walk(console, demo.principal, [*START, "开会", "3", "1"])
    preview = console.send(demo.principal, "2")
    send = preview[-1].flat_buttons()[0].payload
    first = console.send(demo.principal, payload=send)
    second = console.send(demo.principal, payload=send)
    assert "条消息，从 11月23日 08:00 开始发送" in texts(first)
    assert "已经发出（通知 #" in texts(second)
    assert count(app, Broadcast) == 1


def test_a_scheduled_notice_waits_and_can_be_cancelled(
    app: App, console: ConsoleChannel, demo, now: datetime
) -> None:  # type: ignore[no-untyped-def]
    parents = parents_of_school(app, school_id(app))
    link(app, parents[:10], now)
    walk(console, demo.principal, [*START, "运动会通知", "3", "2", "2"])  # tomorrow 08:00, no ack
    reply = walk(console, demo.principal, ["1"])
    assert "已为 142 人中的 10 人排队 10 条消息，从 11月24日 08:00 开始发送" in reply
    notice = only_broadcast(app)
    assert notice.scheduled_at == now + timedelta(days=1)
    assert deliver(app, now + timedelta(hours=23)) == []
    assert "定时 11月24日 08:00" in texts(console.send(demo.principal, "/notices"))
    assert "10 条消息不会再发送" in texts(console.send(demo.principal, payload=f"bccan:{notice.id}"))
    assert deliver(app, now + timedelta(days=1, hours=1)) == []
    assert "已经取消过了" in texts(console.send(demo.principal, payload=f"bccan:{notice.id}"))
    with app.session_factory() as s:
        assert s.scalars(select(AuditLog.action).where(AuditLog.action == "broadcast.cancel")).one()


def test_cancelling_mid_way_stops_the_remaining_messages(
    app: App, console: ConsoleChannel, demo, now: datetime
) -> None:  # type: ignore[no-untyped-def]
    parents = parents_of_school(app, school_id(app))
    half = len(parents) // 2
    link(app, parents[:half], now, channel="console")
    link(app, parents[half:], now, channel="wechat")  # no WeChat sender here: these stay queued
    walk(console, demo.principal, [*START, "停水通知", "3", "1", "2", "1"])
    notice = only_broadcast(app)
    assert len(deliver(app, now)) == half
    reply = texts(console.send(demo.principal, payload=f"bccan:{notice.id}"))
    assert f"{len(parents) - half} 条消息不会再发送" in reply
    assert deliver(app, now, channel="wechat") == []
    status = texts(console.send(demo.principal, payload=f"bcst:{notice.id}"))
    assert "状态：已取消" in status
    assert f"已送达 {half}" in status


def test_a_notice_to_both_audiences_of_a_class(
    app: App, console: ConsoleChannel, demo, now: datetime
) -> None:  # type: ignore[no-untyped-def]
    reply = walk(console, demo.teacher, ["/notice", "1", "3", "明天春游", "3", "1", "2"])
    # 38 pupils: 38 guardians; the class teacher is the sender and is left out.
    assert "收件人：38 人（家长 38，教师 0）" in reply
    assert "其中 38 人还没有绑定聊天账号" in reply
    assert "/notices" in walk(console, demo.principal, ["/help"])
