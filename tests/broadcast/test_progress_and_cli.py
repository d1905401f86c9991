"""Live progress edited in place, the TARGET syntax, and the broadcast / notices / outbox / deliver commands."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.broadcast.service import NoticeDraft, create_broadcast
from chatbot.broadcast.targets import NoticeTarget, TargetError, parse_target
from chatbot.cli import build_parser
from chatbot.delivery.limits import ChannelLimit
from chatbot.delivery.worker import DeliveryConfig, Worker, serve
from db.models import OutboxMessage, OutboxStatus, Person
from db.models.broadcast import Audience, Broadcast, BroadcastScope
from db.session import transaction
from tests.broadcast.helpers import link, parents_of_school, school_id
from tests.delivery.fakes import FakeSender, VirtualTime


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("school:3/parents", NoticeTarget(BroadcastScope.SCHOOL, 3, Audience.PARENTS)),
        ("school:3", NoticeTarget(BroadcastScope.SCHOOL, 3, Audience.PARENTS)),
        ("class:5/both", NoticeTarget(BroadcastScope.CLASS, 5, Audience.BOTH)),
        ("region:1/teachers", NoticeTarget(BroadcastScope.REGION, 1, Audience.TEACHERS)),
        ("School:3/Grade:7/Parents", NoticeTarget(BroadcastScope.GRADE, 3, Audience.PARENTS, 7)),
        ("school:3/grade:7", NoticeTarget(BroadcastScope.GRADE, 3, Audience.PARENTS, 7)),
    ],
)
def test_target_syntax(text: str, expected: NoticeTarget) -> None:
    assert parse_target(text) == expected
    assert parse_target(expected.code()) == expected


@pytest.mark.parametrize(
    "text",
    ["", "school", "school:x", "school:3/pupils", "class:5/grade:2", "region:1/grade:3/parents", "school:-1"],
)
def test_bad_target_syntax_is_refused(text: str) -> None:
    with pytest.raises(TargetError):
        parse_target(text)


async def test_progress_is_one_message_edited_in_place(app: App, demo, now: datetime) -> None:  # type: ignore[no-untyped-def]
    school = school_id(app)
    parents = parents_of_school(app, school)
    link(app, parents, now, channel="telegram")
    link(app, [demo.principal], now, channel="telegram")
    with transaction(app.session_factory) as s:
        principal = s.get(Person, demo.principal)
        assert principal is not None
        draft = NoticeDraft(NoticeTarget(BroadcastScope.SCHOOL, school), {"zh_Hans": "停水通知"})
        notice_id = create_broadcast(s, principal, draft, now=now, settings=app.settings).id
    vt = VirtualTime(now)
    sender = FakeSender("telegram", clock=vt.monotonic)
    config = DeliveryConfig(limits={"telegram": ChannelLimit(per_second=10)}, db_in_thread=False, lanes=1)
    worker = Worker(
        app.session_factory, [sender], config, clock=vt.now, monotonic=vt.monotonic, sleep=vt.sleep
    )
    driver = asyncio.create_task(vt.run())
    try:
        await worker.drain()
    finally:
        driver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await driver

    progress = [m for m in sender.sent if m.external_id == f"telegram-{demo.principal}"]
    assert len(progress) >= 3  # ~14 s of sending at 10/s, an update every 5 s, and the final one
    first = progress[0]
    assert first.edit_of is None
    assert all(m.edit_of == f"m{first.row_id}" for m in progress[1:])
    assert f"通知 #{notice_id}（共 {len(parents)} 人）：已发送" in progress[1].text
    assert f"已发送 {len(parents)} / {len(parents)} 个聊天账号，失败 0" in progress[-1].text
    with app.session_factory() as s:
        assert s.get(Broadcast, notice_id).finished_at is not None  # type: ignore[union-attr]


def run(app: App, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    args = build_parser().parse_args(list(argv))
    code = args.handler(args, app)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_broadcast_command_sends_and_refuses_bad_input(app: App, demo, now: datetime, capsys) -> None:  # type: ignore[no-untyped-def]
    school = school_id(app)
    code, out, _err = run(
        app,
        capsys,
        "broadcast",
        "--as",
        "admin",
        "--to",
        f"school:{school}/teachers",
        "--text",
        "教师会议",
        "--dry-run",
    )
    assert code == 0
    assert "共 5 人（家长 0，教师 5）" in out  # the principal and four class teachers
    cases = [
        (["--as", "teacher", "--to", f"school:{school}"], "您无权向"),
        (["--as", "admin", "--to", "school:999"], "没有这个学校"),
        (["--as", "admin", "--to", "town:1"], "无法识别的目标"),
        (["--as", "nobody", "--to", f"school:{school}"], "找不到人员"),
        (["--as", "admin", "--to", f"school:{school}", "--at", "2020-01-01 08:00"], "已经过去了"),
        (["--as", "admin", "--to", f"school:{school}", "--at", "someday"], "看不懂这个时间"),
    ]
    for extra, message in cases:
        code, _out, err = run(app, capsys, "broadcast", *extra, "--text", "通知")
        assert (code, message in err) == (2, True), (extra, err)
    code, _out, err = run(
        app, capsys, "broadcast", "--as", "admin", "--to", f"school:{school}", "--text", " "
    )
    assert code == 2
    assert "通知内容是空的" in err
    code, _out, err = run(
        app, capsys, "broadcast", "--as", "admin", "--to", f"school:{school}", "--text", "x" * 1001
    )
    assert "上限是 1,000 字" in err
    with app.session_factory() as s:
        assert s.scalars(select(Broadcast)).first() is None

    parents = parents_of_school(app, school)
    link(app, parents[:3], now, locales={parents[0]: "en"})
    code, out, _err = run(
        app,
        capsys,
        "broadcast",
        "--as",
        "admin",
        "--to",
        f"school:{school}/parents",
        "--text",
        "停水通知",
        "--text-en",
        "No water tomorrow",
        "--ack",
    )
    assert code == 0
    assert f"已为 {len(parents)} 人中的 3 人排队 3 条消息" in out
    with app.session_factory() as s:
        notice = s.scalars(select(Broadcast)).one()
        assert notice.texts == {"zh_Hans": "停水通知", "en": "No water tomorrow"}
        texts = {row.person_id: row.text for row in s.scalars(select(OutboxMessage))}
    assert "No water tomorrow" in texts[parents[0]]
    assert "停水通知" in texts[parents[1]]

    code, out, _err = run(app, capsys, "notices", "--as", "admin", "--show", str(notice.id), "--json")
    counts = json.loads(out)
    assert (counts["recipients"], counts["unreachable"], counts["pending"]) == (
        len(parents),
        len(parents) - 3,
        3,
    )
    code, out, _err = run(app, capsys, "notices", "--as", "admin", "--show", str(notice.id))
    assert f"已确认：0 / {len(parents)}" in out
    assert "（未绑定）" in out  # those who cannot receive it are marked for a phone call
    code, out, _err = run(app, capsys, "notices", "--as", "admin", "--cancel", str(notice.id))
    assert "3 条消息不会再发送" in out
    code, _out, err = run(app, capsys, "notices", "--as", "principal", "--show", "999")
    assert (code, "没有通知 #999" in err) == (2, True)


def test_outbox_and_deliver_commands(app: App, demo, now: datetime, capsys) -> None:  # type: ignore[no-untyped-def]
    link(app, parents_of_school(app, school_id(app))[:2], now)
    run(app, capsys, "broadcast", "--as", "principal", "--to", f"school:{school_id(app)}", "--text", "通知")
    code, out, _err = run(app, capsys, "outbox", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [r["status"] for r in rows] == ["queued", "queued"]
    assert all(r["ref"].startswith("broadcast:") and "text" not in r for r in rows)
    code, out, _err = run(app, capsys, "outbox", "--status", "queued")
    assert "queued 2" in out
    code, _out, err = run(app, capsys, "outbox", "--status", "lost")
    assert code == 2
    assert "未知状态 lost" in err
    code, _out, err = run(app, capsys, "deliver", "--once")
    assert code == 2
    assert "没有配置任何聊天渠道" in err


async def test_serve_delivers_until_stopped(app: App, demo, now: datetime) -> None:  # type: ignore[no-untyped-def]
    school = school_id(app)
    link(app, parents_of_school(app, school)[:4], now, channel="telegram")
    with transaction(app.session_factory) as s:
        principal = s.get(Person, demo.principal)
        assert principal is not None
        draft = NoticeDraft(NoticeTarget(BroadcastScope.SCHOOL, school), {"zh_Hans": "通知"})
        create_broadcast(s, principal, draft, now=now, settings=app.settings)
    sender = FakeSender("telegram")
    stop = asyncio.Event()
    config = DeliveryConfig(limits={}, poll_interval=0.01)
    task = asyncio.create_task(serve(app, [sender], stop, config))  # the worker reads app.clock
    for _ in range(500):
        if len(sender.sent) == 4:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert len(sender.sent) == 4
    with app.session_factory() as s:
        assert {r.status for r in s.scalars(select(OutboxMessage))} == {OutboxStatus.SENT}


async def test_the_worker_survives_a_database_failure(app: App, demo, now: datetime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    school = school_id(app)
    link(app, parents_of_school(app, school)[:2], now, channel="telegram")
    with transaction(app.session_factory) as s:
        principal = s.get(Person, demo.principal)
        assert principal is not None
        draft = NoticeDraft(NoticeTarget(BroadcastScope.SCHOOL, school), {"zh_Hans": "通知"})
        create_broadcast(s, principal, draft, now=now, settings=app.settings)
    real_claim = Worker.claim
    calls = []

    def flaky_claim(self: Worker, *args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("database went away")
        return real_claim(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Worker, "claim", flaky_claim)
    sender = FakeSender("telegram")
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, [sender], stop, DeliveryConfig(limits={}, poll_interval=0.01)))
    for _ in range(500):
        if len(sender.sent) == 2:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert len(sender.sent) == 2
