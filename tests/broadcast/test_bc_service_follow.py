"""Following a notice up (chatbot/broadcast/service.py): who may see it, the delivery report, who has
not confirmed, cancelling, “Got it”, and the one reminder, with whole rows and English messages."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from chatbot.app import App
from chatbot.broadcast.service import (
    Reminded,
    Report,
    acknowledge,
    cancel_broadcast,
    not_acknowledged,
    report,
    send_reminder,
    visible_broadcast,
)
from chatbot.broadcast.targets import NoticeTarget
from chatbot.i18n import format_moment, use_locale
from db.models import Membership, OutboxMessage, OutboxStatus, Person, Priority
from db.models.broadcast import Audience, Broadcast, BroadcastRecipient, BroadcastScope, BroadcastStatus
from db.session import transaction
from tests.broadcast.bc_service_helpers import (
    add_account,
    audits,
    notify,
    outbox,
    refusal_en,
)
from tests.broadcast.helpers import parents_of_class

CLASS_1 = NoticeTarget(BroadcastScope.CLASS, 1)  # 红星小学 grade 3 1班
CLASS_2 = NoticeTarget(BroadcastScope.CLASS, 2)
SCHOOL_1_TEACHERS = NoticeTarget(BroadcastScope.SCHOOL, 1, Audience.TEACHERS)


def person_id(app: App, name: str) -> int:
    with app.session_factory() as s:
        return int(s.scalars(select(Person.id).where(Person.name == name)).one())


def set_status(app: App, status: OutboxStatus, **where: object) -> None:
    with transaction(app.session_factory) as s:
        query = update(OutboxMessage)
        for column, value in where.items():
            query = query.where(getattr(OutboxMessage, column) == value)
        s.execute(query.values(status=status))


def ack(app: App, notice: int, people: list[int], now: datetime) -> None:
    with transaction(app.session_factory) as s:
        for person in people:
            assert acknowledge(s, s.get(Person, person), notice, now) is True


def progress_row(
    app: App, notice: int, identity: int, person: int, now: datetime, status: OutboxStatus
) -> None:
    """What the worker's progress hook writes for the sender: same ref_id, another ref_type."""
    with transaction(app.session_factory) as s:
        s.add(
            OutboxMessage(
                identity_id=identity, person_id=person, channel="console", kind="notice_progress",
                text="progress", buttons=[], priority=10, not_before=now, status=status, attempts=0,
                ref_type="broadcast_progress", ref_id=notice, tz="Asia/Shanghai", created_at=now,
            )
        )  # fmt: skip


# --- who may see a notice ------------------------------------------------------------------------


def test_a_notice_is_visible_to_its_sender_and_to_those_who_may_send_to_its_target(
    app: App,
    demo,
    now: datetime,  # type: ignore[no-untyped-def]
) -> None:
    add_account(app, parents_of_class(app, 1)[0], now)
    notice = notify(app, demo.teacher, CLASS_1, {"zh_Hans": "通知"}, now)
    other_class_teacher = person_id(app, "吴洋鹏")

    def sees(who: int | None, notice_id: int = notice) -> int:
        with app.session_factory() as s:
            return visible_broadcast(s, s.get(Person, who) if who else None, notice_id).id

    assert [sees(who) for who in (demo.teacher, demo.principal, demo.admin)] == [notice] * 3
    for who in (other_class_teacher, demo.parent, None):
        assert refusal_en(lambda who=who: sees(who)) == f"There is no notice #{notice}."  # type: ignore[misc]
    assert refusal_en(lambda: sees(demo.admin, 999)) == "There is no notice #999."
    assert refusal_en(lambda: sees(None, 999)) == "There is no notice #999."

    # The sender still sees her notice after she lost the class.
    with transaction(app.session_factory) as s:
        for membership in s.scalars(select(Membership).where(Membership.person_id == demo.teacher)):
            s.delete(membership)
    assert sees(demo.teacher) == notice
    assert refusal_en(lambda: sees(other_class_teacher)) == f"There is no notice #{notice}."


# --- the report and who has not confirmed --------------------------------------------------------


def test_the_report_counts_people_once_by_their_best_outcome(app: App, demo, now: datetime) -> None:  # type: ignore[no-untyped-def]
    parents = parents_of_class(app, 1)
    first_console = add_account(app, parents[0], now)
    first_telegram = add_account(app, parents[0], now, channel="telegram")
    for person in parents[1:6]:
        add_account(app, person, now)
    add_account(app, parents[5], now, channel="telegram")
    add_account(app, parents[6], now, active=False)
    principal_account = add_account(app, demo.principal, now)
    notice = notify(app, demo.principal, CLASS_1, {"zh_Hans": "家长会"}, now, ack=True)
    other = notify(app, demo.principal, CLASS_1, {"zh_Hans": "体检"}, now, ack=True)
    later = now + timedelta(hours=1)
    # A reminder, sent to everyone, is not the notice: it does not make anybody "delivered".
    with transaction(app.session_factory) as s:
        send_reminder(s, s.get(Person, demo.principal), notice, later, app.settings)
    set_status(app, OutboxStatus.SENT, kind="notice_reminder")
    set_status(app, OutboxStatus.SENT, ref_id=other)
    set_status(app, OutboxStatus.SENT, identity_id=first_console, ref_id=notice, kind="notice")
    set_status(app, OutboxStatus.FAILED, identity_id=first_telegram, ref_id=notice)
    rows = {r[1]: r[0] for r in outbox(app, ref_id=notice, kind="notice") if r[2] == "console"}
    set_status(app, OutboxStatus.SENDING, identity_id=rows[parents[2]], ref_id=notice, kind="notice")
    set_status(app, OutboxStatus.FAILED, identity_id=rows[parents[3]], ref_id=notice, kind="notice")
    set_status(app, OutboxStatus.FAILED, person_id=parents[4], ref_id=notice, kind="notice")
    set_status(app, OutboxStatus.SENT, person_id=parents[5], ref_id=notice, kind="notice", channel="telegram")
    # parents[5]'s console message is still queued, but the Telegram one arrived: delivered, not waiting.
    with transaction(app.session_factory) as s:
        # parents[2] has a second account whose message failed: still waiting on the first.
        extra = add_account(app, parents[2], now, channel="wechat")
        s.add(
            OutboxMessage(
                identity_id=extra, person_id=parents[2], channel="wechat", kind="notice", text="x",
                buttons=[], priority=20, not_before=now, status=OutboxStatus.FAILED, attempts=3,
                ref_type="broadcast", ref_id=notice, tz="Asia/Shanghai", created_at=now,
            )
        )  # fmt: skip
    progress_row(app, notice, principal_account, demo.principal, now, OutboxStatus.SENT)
    with transaction(app.session_factory) as s:
        # Another domain's "notice" whose ref_id happens to be this notice's id.
        s.add(
            OutboxMessage(
                identity_id=principal_account, person_id=demo.principal, channel="console", kind="notice",
                text="x", buttons=[], priority=10, not_before=now, status=OutboxStatus.SENT, attempts=1,
                ref_type="calendar", ref_id=notice, tz="Asia/Shanghai", created_at=now,
            )
        )  # fmt: skip
    ack(app, notice, [parents[0], parents[5], parents[9]], later)
    ack(app, other, [parents[1], parents[2], parents[3], parents[4]], later)

    def counts(notice_id: int) -> Report:
        with app.session_factory() as s:
            broadcast = s.get(Broadcast, notice_id)
            assert broadcast is not None
            return report(s, broadcast)

    # parents[0] and [5] delivered; [1] queued and [2] sending; [3] and [4] failed; the rest unreachable.
    assert counts(notice) == Report(
        recipients=len(parents), messages=8, delivered=2, pending=2, failed=2,
        unreachable=len(parents) - 6, acknowledged=3, cancelled=False, stopped=0,
    )  # fmt: skip
    assert counts(other) == Report(
        recipients=len(parents), messages=8, delivered=6, pending=0, failed=0,
        unreachable=len(parents) - 6, acknowledged=4, cancelled=False, stopped=0,
    )  # fmt: skip

    with transaction(app.session_factory) as s:
        assert cancel_broadcast(s, s.get(Person, demo.principal), notice, later) == 2
    # The queued messages of parents[1] and [5] are cancelled: [1] is no longer waiting and counted
    # as stopped, not failed; [5] stays delivered.
    assert counts(notice) == Report(
        recipients=len(parents), messages=8, delivered=2, pending=1, failed=2,
        unreachable=len(parents) - 6, acknowledged=3, cancelled=True, stopped=1,
    )  # fmt: skip


def test_those_who_have_not_confirmed_are_listed_by_name_and_flagged_without_an_account(
    app: App,
    demo,
    now: datetime,  # type: ignore[no-untyped-def]
) -> None:
    parents = parents_of_class(app, 1)
    assert len(parents) > 31
    for person in parents[:4]:
        add_account(app, person, now)
    add_account(app, parents[4], now, active=False)
    with transaction(app.session_factory) as s:
        # Two parents of the same name, listed by id; an ASCII name sorts before the Han ones.
        for person in (parents[3], parents[1]):
            s.get(Person, person).name = "Chen"  # type: ignore[union-attr]
        s.get(Person, parents[4]).name = "Bai"  # type: ignore[union-attr]
        s.get(Person, parents[7]).name = "Ann"  # type: ignore[union-attr]
    notice = notify(app, demo.principal, CLASS_1, {"zh_Hans": "家长会"}, now, ack=True)
    notify(app, demo.principal, CLASS_2, {"zh_Hans": "体检"}, now, ack=True)
    ack(app, notice, [parents[0], parents[2]], now)

    with app.session_factory() as s, use_locale("en"):
        broadcast = s.get(Broadcast, notice)
        assert broadcast is not None
        names, count = not_acknowledged(s, broadcast)
        first_three, same_count = not_acknowledged(s, broadcast, limit=3)
        waiting = s.execute(
            select(Person.name, Person.id)
            .join(BroadcastRecipient, BroadcastRecipient.person_id == Person.id)
            .where(BroadcastRecipient.broadcast_id == notice, BroadcastRecipient.acked_at.is_(None))
        ).all()
    in_order = [name for name, _id in sorted(waiting)]
    marked = {parents[1]: "Chen", parents[3]: "Chen"}
    expected = [name if pid in marked else f"{name} (no chat account)" for name, pid in sorted(waiting)]
    assert count == same_count == len(parents) - 2
    assert names == expected[:30]
    assert first_three == ["Ann (no chat account)", "Bai (no chat account)", "Chen"]
    assert in_order[:4] == ["Ann", "Bai", "Chen", "Chen"]
    assert len(names) == 30


def test_nobody_is_listed_once_everyone_confirmed(app: App, demo, now: datetime) -> None:  # type: ignore[no-untyped-def]
    notice = notify(app, demo.admin, SCHOOL_1_TEACHERS, {"zh_Hans": "教研"}, now, ack=True)
    with app.session_factory() as s:
        staff = list(
            s.scalars(select(BroadcastRecipient.person_id).where(BroadcastRecipient.broadcast_id == notice))
        )
    ack(app, notice, staff, now)
    with app.session_factory() as s:
        broadcast = s.get(Broadcast, notice)
        assert broadcast is not None
        assert not_acknowledged(s, broadcast) == ([], 0)
        assert report(s, broadcast).acknowledged == 5


# --- cancelling ----------------------------------------------------------------------------------


def test_cancelling_stops_only_this_notices_queued_messages_and_is_audited(
    app: App,
    demo,
    now: datetime,  # type: ignore[no-untyped-def]
) -> None:
    parents = parents_of_class(app, 1)
    accounts = [add_account(app, person, now) for person in parents[:3]]
    principal_account = add_account(app, demo.principal, now)
    notice = notify(app, demo.principal, CLASS_1, {"zh_Hans": "运动会"}, now)
    other = notify(app, demo.principal, CLASS_1, {"zh_Hans": "体检"}, now)
    set_status(app, OutboxStatus.SENT, identity_id=accounts[0], ref_id=notice)
    progress_row(app, notice, principal_account, demo.principal, now, OutboxStatus.QUEUED)
    later = now + timedelta(minutes=5)

    with transaction(app.session_factory) as s:
        assert cancel_broadcast(s, s.get(Person, demo.admin), notice, later) == 2

    assert [(r[0], r[3], r[8], r[10], r[14]) for r in outbox(app, ref_id=notice)] == [
        (accounts[0], "notice", OutboxStatus.SENT, None, "broadcast"),
        (accounts[1], "notice", OutboxStatus.CANCELLED, "notice cancelled", "broadcast"),
        (accounts[2], "notice", OutboxStatus.CANCELLED, "notice cancelled", "broadcast"),
        (principal_account, "notice_progress", OutboxStatus.QUEUED, None, "broadcast_progress"),
    ]
    assert {r[8] for r in outbox(app, ref_id=other)} == {OutboxStatus.QUEUED}
    with app.session_factory() as s:
        stored = s.get(Broadcast, notice)
        assert (stored.status, stored.cancelled_at) == (BroadcastStatus.CANCELLED, later)  # type: ignore[union-attr]
        assert s.get(Broadcast, other).status == BroadcastStatus.ACTIVE  # type: ignore[union-attr]
    assert audits(app, "broadcast.cancel") == [
        (
            later,
            demo.admin,
            "broadcast.cancel",
            "class:1/parents",
            {"broadcast_id": notice, "cancelled_messages": 2},
        )
    ]

    def cancel(notice_id: int, who: int = demo.principal) -> int:
        with transaction(app.session_factory) as s:
            return cancel_broadcast(s, s.get(Person, who), notice_id, later)

    assert refusal_en(lambda: cancel(notice)) == f"Notice #{notice} was already cancelled."
    assert refusal_en(lambda: cancel(other, demo.parent)) == f"There is no notice #{other}."
    set_status(app, OutboxStatus.SENT, ref_id=other)
    assert (
        refusal_en(lambda: cancel(other))
        == f"Notice #{other} has already been delivered; there is nothing left to cancel."
    )
    with app.session_factory() as s:
        assert s.get(Broadcast, other).status == BroadcastStatus.ACTIVE  # type: ignore[union-attr]
    # One message left is one message cancelled.
    set_status(app, OutboxStatus.QUEUED, ref_id=other, identity_id=accounts[2])
    assert cancel(other) == 1
    assert len(audits(app, "broadcast.cancel")) == 2


# --- acknowledging -------------------------------------------------------------------------------


def test_got_it_counts_once_and_only_for_recipients(app: App, demo, now: datetime) -> None:  # type: ignore[no-untyped-def]
    parent = parents_of_class(app, 1)[0]
    notice = notify(app, demo.principal, CLASS_1, {"zh_Hans": "家长会"}, now, ack=True)
    later = now + timedelta(hours=2)

    def press(who: int | None, at: datetime) -> bool:
        with transaction(app.session_factory) as s:
            return acknowledge(s, s.get(Person, who) if who else None, notice, at)

    def acked_at() -> datetime | None:
        with app.session_factory() as s:
            return s.get(BroadcastRecipient, {"broadcast_id": notice, "person_id": parent}).acked_at  # type: ignore[union-attr]

    assert refusal_en(lambda: press(None, now)) == "This notice was not sent to you."
    assert refusal_en(lambda: press(demo.teacher, now)) == "This notice was not sent to you."
    assert press(parent, now) is True
    assert acked_at() == now
    assert press(parent, later) is False
    assert acked_at() == now


# --- the reminder --------------------------------------------------------------------------------


def test_the_reminder_in_english_and_its_refusals(app: App, demo, now: datetime) -> None:  # type: ignore[no-untyped-def]
    parents = parents_of_class(app, 1)
    english = add_account(app, parents[0], now, locale="en")
    chinese = add_account(app, parents[1], now)
    add_account(app, parents[2], now)
    in_an_hour = now + timedelta(hours=1)
    notice = notify(
        app,
        demo.principal,
        CLASS_1,
        {"zh_Hans": "家长会", "en": "Parents' meeting"},
        now,
        ack=True,
        at=in_an_hour,
    )
    ack(app, notice, [parents[2]], now)

    def remind(at: datetime, who: int = demo.principal, notice_id: int = notice) -> Reminded:
        with transaction(app.session_factory) as s, use_locale("en"):
            return send_reminder(s, s.get(Person, who), notice_id, at, app.settings)

    assert (
        refusal_en(lambda: remind(in_an_hour - timedelta(seconds=1)))
        == f"Notice #{notice} has not been sent yet."
    )
    assert refusal_en(lambda: remind(in_an_hour, demo.parent)) == f"There is no notice #{notice}."
    # Due exactly now: it has been sent. Two of those who have not confirmed have a chat account.
    assert remind(in_an_hour) == Reminded(messages=2, people=2, unreachable=len(parents) - 3)

    buttons = [[{"label": "Got it", "payload": f"bcack:{notice}"}]]
    assert [r for r in outbox(app, ref_id=notice, kind="notice_reminder")] == [
        (
            chinese, parents[1], "console", "notice_reminder",
            "📢 提醒：请确认这条通知\n发自：张校长，红星小学 3年级1班\n\n家长会\n\n看完请点“收到”。",
            [[{"label": "收到", "payload": f"bcack:{notice}"}]], int(Priority.BULK), in_an_hour,
            OutboxStatus.QUEUED, 0, None, None, None, None, "broadcast", notice, "Asia/Shanghai", in_an_hour,
        ),
        (
            english, parents[0], "console", "notice_reminder",
            "📢 Reminder: please confirm this notice\nFrom: 张校长, 红星小学 grade 3 1班\n\nParents' meeting\n\n"
            "Please press “Got it” to confirm you have read it.",
            buttons, int(Priority.BULK), in_an_hour,
            OutboxStatus.QUEUED, 0, None, None, None, None, "broadcast", notice, "Asia/Shanghai", in_an_hour,
        ),
    ]  # fmt: skip
    assert audits(app, "broadcast.remind") == [
        (
            in_an_hour,
            demo.principal,
            "broadcast.remind",
            "class:1/parents",
            {"broadcast_id": notice, "people": 2, "messages": 2, "unreachable": len(parents) - 3},
        )
    ]
    with use_locale("en"):
        shown = format_moment(in_an_hour, "Asia/Shanghai")
    assert (
        refusal_en(lambda: remind(in_an_hour + timedelta(hours=1)))
        == f"A reminder for notice #{notice} was already sent on {shown}; only one is allowed."
    )

    no_ack = notify(app, demo.principal, CLASS_1, {"zh_Hans": "停水"}, now)
    assert (
        refusal_en(lambda: remind(now, notice_id=no_ack)) == f"Notice #{no_ack} did not ask for confirmation."
    )
    cancelled = notify(app, demo.principal, CLASS_1, {"zh_Hans": "运动会"}, now, ack=True)
    with transaction(app.session_factory) as s:
        cancel_broadcast(s, s.get(Person, demo.principal), cancelled, now)
    assert refusal_en(lambda: remind(now, notice_id=cancelled)) == f"Notice #{cancelled} was cancelled."
    teachers = notify(app, demo.admin, SCHOOL_1_TEACHERS, {"zh_Hans": "教研"}, now, ack=True)
    with app.session_factory() as s:
        staff = list(
            s.scalars(select(BroadcastRecipient.person_id).where(BroadcastRecipient.broadcast_id == teachers))
        )
    ack(app, teachers, staff, now)
    assert (
        refusal_en(lambda: remind(now, demo.admin, teachers))
        == f"Everyone has confirmed notice #{teachers}; no reminder is needed."
    )
    assert outbox(app, kind="notice_reminder", ref_id=teachers) == []
    assert len(audits(app, "broadcast.remind")) == 1


def test_a_reminder_counts_people_not_accounts(app: App, demo, now: datetime) -> None:  # type: ignore[no-untyped-def]
    parents = parents_of_class(app, 1)
    add_account(app, parents[0], now)
    add_account(app, parents[0], now, channel="telegram")
    notice = notify(app, demo.principal, CLASS_1, {"zh_Hans": "家长会"}, now, ack=True)
    ack(app, notice, parents[1:], now)
    with transaction(app.session_factory) as s:
        assert send_reminder(s, s.get(Person, demo.admin), notice, now, app.settings) == Reminded(2, 1, 0)
    assert audits(app, "broadcast.remind")[0][1:] == (
        demo.admin,
        "broadcast.remind",
        "class:1/parents",
        {"broadcast_id": notice, "people": 1, "messages": 2, "unreachable": 0},
    )
    with app.session_factory() as s:
        assert s.get(Broadcast, notice).reminded_at == now  # type: ignore[union-attr]
