"""The sender's live progress (chatbot/broadcast/progress.py), driven step by step as the delivery worker
drives it: which accounts get which text in which language, when an update is skipped, and the rows."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import update

from chatbot.app import App
from chatbot.broadcast.progress import after_delivery, update_progress
from chatbot.broadcast.targets import NoticeTarget
from db.models import OutboxMessage, OutboxStatus, Person, Priority, School
from db.models.broadcast import Broadcast, BroadcastScope
from db.session import transaction
from tests.broadcast.bc_service_helpers import add_account, notify, outbox, set_person_locale
from tests.broadcast.helpers import parents_of_class

CLASS_1 = NoticeTarget(BroadcastScope.CLASS, 1)
URUMQI = "Asia/Urumqi"
EDITABLE = frozenset({"telegram"})
# Class 1 has 38 guardians; the progress tests link 5, 2 or 1 of them to a chat account.
UNREACHABLE_HANT = "33 人無法送達（未綁定聊天帳號）。"
UNREACHABLE_EN = "36 people cannot be reached: no chat account linked."


def step(app: App, notice: int, at: datetime, editable: Collection[str] = EDITABLE) -> None:
    with transaction(app.session_factory) as s:
        update_progress(s, notice, at, editable)


def set_row(app: App, row_id: int, **values: object) -> None:
    with transaction(app.session_factory) as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values))


def add_row(app: App, identity: int, person: int, ref_type: str, ref_id: int, kind: str, at: datetime) -> int:
    with transaction(app.session_factory) as s:
        row = OutboxMessage(
            identity_id=identity, person_id=person, channel="telegram", kind=kind, text="other",
            buttons=[], priority=10, not_before=at, status=OutboxStatus.QUEUED, attempts=0,
            ref_type=ref_type, ref_id=ref_id, tz="Asia/Shanghai", created_at=at,
        )  # fmt: skip
        s.add(row)
        s.flush()
        return int(row.id)


def progress_rows(app: App, notice: int) -> list[tuple[object, ...]]:
    return [r for r in outbox(app) if r[14] == "broadcast_progress" and r[15] == notice]


def state(app: App, notice: int) -> tuple[datetime | None, datetime | None]:
    with app.session_factory() as s:
        broadcast = s.get(Broadcast, notice)
        assert broadcast is not None
        return broadcast.progress_at, broadcast.finished_at


def test_progress_is_edited_in_place_on_telegram_and_the_summary_reaches_every_account(
    app: App,
    demo,
    now: datetime,  # type: ignore[no-untyped-def]
) -> None:
    with transaction(app.session_factory) as s:
        s.execute(update(School).where(School.id == 1).values(timezone=URUMQI))
    parents = parents_of_class(app, 1)
    for person in parents[:5]:
        add_account(app, person, now)
    set_person_locale(app, demo.principal, "zh_Hant")
    console = add_account(app, demo.principal, now, locale="en")  # cannot edit: only the summary
    telegram = add_account(app, demo.principal, now, channel="telegram")  # the sender's language
    add_account(app, demo.principal, now, channel="telegram", external="old-phone", active=False)
    notice = notify(app, demo.principal, CLASS_1, {"zh_Hans": "家长会"}, now, ack=True)
    other = notify(app, demo.principal, CLASS_1, {"zh_Hans": "体检"}, now)
    rows = [r[0] for r in outbox(app, ref_id=notice)]
    assert len(rows) == 5
    # Another domain's message to the sender, with the same ref_id: not a progress row.
    add_row(app, telegram, demo.principal, "case", notice, "case_alert", now)

    def progress(at: datetime, text: str, edit: str | None, account: int = telegram) -> tuple[object, ...]:
        channel = "telegram" if account == telegram else "console"
        return (
            account, demo.principal, channel, "notice_progress", text, [], int(Priority.NORMAL), at,
            OutboxStatus.QUEUED, 0, None, None, edit, None, "broadcast_progress", notice, URUMQI, at,
        )  # fmt: skip

    # 1. Nothing sent yet, one failed: an update on Telegram only.
    set_row(app, rows[0], status=OutboxStatus.FAILED)
    set_row(app, rows[1], status=OutboxStatus.SENDING)
    set_row(app, rows[2], status=OutboxStatus.SENDING)  # two being sent, two queued
    t1 = now + timedelta(seconds=1)
    step(app, notice, t1)
    assert progress_rows(app, notice) == [
        progress(t1, f"通知 #{notice}（共 38 人）：已傳送 0 / 5 個聊天帳號\n{UNREACHABLE_HANT}", None)
    ]
    assert state(app, notice) == (t1, None)

    # 2. Three seconds later, with messages left: no update at all.
    set_row(app, rows[1], status=OutboxStatus.SENT)
    step(app, notice, t1 + timedelta(seconds=3))
    assert progress_rows(app, notice) == [
        progress(t1, f"通知 #{notice}（共 38 人）：已傳送 0 / 5 個聊天帳號\n{UNREACHABLE_HANT}", None)
    ]
    assert state(app, notice) == (t1, None)

    # 3. Five seconds after the first, that message was sent: the next one edits it.
    first = progress_rows(app, notice)[0]
    with app.session_factory() as s:
        first_id = s.query(OutboxMessage.id).filter(OutboxMessage.ref_type == "broadcast_progress").scalar()
    set_row(app, first_id, status=OutboxStatus.SENT, external_message_id="m-1")
    set_row(app, rows[2], status=OutboxStatus.SENDING)  # one queued and one sending left
    t2 = t1 + timedelta(seconds=5)
    step(app, notice, t2)
    assert progress_rows(app, notice)[1:] == [
        progress(t2, f"通知 #{notice}（共 38 人）：已傳送 1 / 5 個聊天帳號\n{UNREACHABLE_HANT}", "m-1")
    ]
    assert first[4] == f"通知 #{notice}（共 38 人）：已傳送 0 / 5 個聊天帳號\n{UNREACHABLE_HANT}"
    assert state(app, notice) == (t2, None)

    # 4. Ten seconds later that edit is still queued: its text is replaced, no new row.
    set_row(app, rows[2], status=OutboxStatus.SENT)
    t3 = t2 + timedelta(seconds=10)
    step(app, notice, t3)
    assert [r[4] for r in progress_rows(app, notice)] == [
        f"通知 #{notice}（共 38 人）：已傳送 0 / 5 個聊天帳號\n{UNREACHABLE_HANT}",
        f"通知 #{notice}（共 38 人）：已傳送 2 / 5 個聊天帳號\n{UNREACHABLE_HANT}",
    ]
    assert [r[7] for r in progress_rows(app, notice)] == [t1, t2]
    assert state(app, notice) == (t3, None)

    # 5. The edit went out as m-2; another notice of the same sender has a newer progress row of its own.
    with app.session_factory() as s:
        ids = [
            i
            for (i,) in s.query(OutboxMessage.id)
            .filter(OutboxMessage.ref_type == "broadcast_progress", OutboxMessage.ref_id == notice)
            .order_by(OutboxMessage.id)
        ]
    second_id = ids[1]
    set_row(app, second_id, status=OutboxStatus.SENT, external_message_id="m-2")
    with transaction(app.session_factory) as s:
        s.add(
            OutboxMessage(
                identity_id=telegram, person_id=demo.principal, channel="telegram", kind="notice_progress",
                text="other notice", buttons=[], priority=10, not_before=t3, status=OutboxStatus.SENT,
                attempts=0, external_message_id="m-other", ref_type="broadcast_progress", ref_id=other,
                tz="Asia/Shanghai", created_at=t3,
            )
        )  # fmt: skip
    set_row(app, rows[3], status=OutboxStatus.CANCELLED)
    t4 = t3 + timedelta(seconds=6)
    step(app, notice, t4)
    assert progress_rows(app, notice)[2:] == [
        progress(
            t4,
            f"通知 #{notice}（共 38 人）：已傳送 2 / 4 個聊天帳號\n1 則訊息因剩餘部分已取消而未傳送。"
            f"\n{UNREACHABLE_HANT}",
            "m-2",
        )
    ]

    # 6. The last message is sent two seconds later: nothing is left of this notice (a queued reminder,
    # a queued progress row, another notice's messages and another domain's do not count), so the summary goes at once,
    # to every active account of the sender, each in its language.
    with app.session_factory() as s:
        third_id = max(
            i for (i,) in s.query(OutboxMessage.id).filter(OutboxMessage.ref_type == "broadcast_progress")
        )
    set_row(app, third_id, status=OutboxStatus.FAILED)
    set_row(app, rows[4], status=OutboxStatus.SENT)
    add_row(app, console, demo.principal, "broadcast", notice, "notice_reminder", t4)
    add_row(app, telegram, demo.principal, "broadcast_progress", notice, "notice_progress", t4)
    add_row(app, telegram, demo.principal, "calendar", notice, "notice", t4)  # another domain's "notice"
    t5 = t4 + timedelta(seconds=2)
    step(app, notice, t5)
    queued_extra = progress_rows(app, notice)[3]
    assert queued_extra[4] == (
        f"通知 #{notice}（共 38 人）傳送完畢：已傳送 3 / 4 個聊天帳號，失敗 1。\n1 則訊息因剩餘部分已取消而未傳送。"
        f"\n{UNREACHABLE_HANT}\n傳送 /notices 查看誰已確認，並提醒其他人。"
    )
    assert progress_rows(app, notice)[4:] == [
        progress(
            t5,
            f"Notice #{notice} (38 people) finished: sent 3 / 4 chat accounts, failed 1.\n"
            "1 chat messages were not sent because the rest was cancelled.\n"
            "33 people cannot be reached: no chat account linked.\n"
            "Send /notices to see who has confirmed and to remind the others.",
            None,
            console,
        )
    ]
    assert state(app, notice) == (t5, t5)

    # 7. Finished is finished.
    before = outbox(app)
    step(app, notice, t5 + timedelta(minutes=1))
    assert outbox(app) == before
    assert state(app, notice) == (t5, t5)


def test_the_summary_follows_the_default_language_and_no_account_is_skipped(
    app: App,
    demo,
    now: datetime,  # type: ignore[no-untyped-def]
) -> None:
    parents = parents_of_class(app, 1)
    for person in parents[:2]:
        add_account(app, person, now)
    console = add_account(app, demo.principal, now)
    telegram = add_account(app, demo.principal, now, channel="telegram")
    notice = notify(app, demo.principal, CLASS_1, {"zh_Hans": "停水"}, now)
    english = App(app.settings.model_copy(update={"default_locale": "en"}), clock=app.clock)
    try:
        with transaction(english.session_factory) as s:
            update_progress(s, notice, now, ["wechat", "telegram"])
        assert [(r[0], r[4]) for r in progress_rows(app, notice)] == [
            (telegram, f"Notice #{notice} (38 people): sent 0 / 2 chat accounts\n{UNREACHABLE_EN}")
        ]
        with transaction(english.session_factory) as s:
            s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.ref_id == notice, OutboxMessage.kind == "notice")
                .values(status=OutboxStatus.SENT)
            )
            update_progress(s, notice, now + timedelta(seconds=1), ["wechat", "telegram"])
    finally:
        english.engine.dispose()
    done = f"sent 2 / 2 chat accounts, failed 0.\n{UNREACHABLE_EN}"
    assert [(r[0], r[4], r[7]) for r in progress_rows(app, notice)] == [
        (telegram, f"Notice #{notice} (38 people) finished: {done}", now),
        (console, f"Notice #{notice} (38 people) finished: {done}", now + timedelta(seconds=1)),
    ]


def test_the_worker_hook_updates_each_notice_it_delivered_for(app: App, demo, now: datetime) -> None:  # type: ignore[no-untyped-def]
    add_account(app, parents_of_class(app, 1)[0], now)
    telegram = add_account(app, demo.principal, now, channel="telegram")
    first = notify(app, demo.principal, CLASS_1, {"zh_Hans": "一"}, now)
    second = notify(app, demo.principal, CLASS_1, {"zh_Hans": "二"}, now)
    third = notify(app, demo.principal, CLASS_1, {"zh_Hans": "三"}, now)

    with transaction(app.session_factory) as s:
        after_delivery(s, {"case": {first}}, now, EDITABLE)
    assert progress_rows(app, first) == []
    with transaction(app.session_factory) as s:
        after_delivery(s, {"broadcast": {third, first}, "case": {second}}, now, EDITABLE)
    assert [(r[0], r[4], r[15]) for r in outbox(app) if r[3] == "notice_progress"] == [
        (
            telegram,
            f"通知 #{first}（共 38 人）：已发送 0 / 1 个聊天账号\n37 人无法送达（未绑定聊天账号）。",
            first,
        ),
        (
            telegram,
            f"通知 #{third}（共 38 人）：已发送 0 / 1 个聊天账号\n37 人无法送达（未绑定聊天账号）。",
            third,
        ),
    ]
    assert state(app, second) == (None, None)


def test_no_progress_for_an_unknown_notice_or_one_whose_sender_is_gone(app: App, demo, now: datetime) -> None:  # type: ignore[no-untyped-def]
    add_account(app, parents_of_class(app, 1)[0], now)
    add_account(app, demo.principal, now, channel="telegram")
    notify(app, demo.principal, CLASS_1, {"zh_Hans": "一"}, now)
    orphan = notify(app, demo.principal, CLASS_1, {"zh_Hans": "二"}, now)
    notify(app, demo.principal, CLASS_1, {"zh_Hans": "三"}, now)
    with transaction(app.session_factory) as s:
        s.execute(update(Broadcast).where(Broadcast.id == orphan).values(sender_person_id=None))
    before = outbox(app)
    step(app, 999, now)
    step(app, orphan, now)
    assert outbox(app) == before
    assert state(app, orphan) == (None, None)
    with app.session_factory() as s:
        assert s.get(Person, demo.principal) is not None
