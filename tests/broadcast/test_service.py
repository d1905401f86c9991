"""The notice rules in chatbot/broadcast/service.py: reading times, reminders, repeated sends, the /notices list."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import SAWarning

from chatbot.app import App
from chatbot.broadcast.service import (
    AlreadySent,
    BroadcastError,
    NoticeDraft,
    Reminded,
    acknowledge,
    cancel_broadcast,
    create_broadcast,
    parse_when,
    send_reminder,
)
from chatbot.broadcast.targets import NoticeTarget
from chatbot.channels.console import ConsoleChannel
from chatbot.config import Settings
from db.models import AuditLog, OutboxMessage, Person
from db.models.broadcast import Audience, Broadcast, BroadcastScope
from db.session import transaction
from tests.broadcast.helpers import link, parents_of_class

CLASS_1 = NoticeTarget(BroadcastScope.CLASS, 1)  # 红星小学 3年级1班, 38 pupils
CLASS_2 = NoticeTarget(BroadcastScope.CLASS, 2)  # 红星小学 4年级1班
SCHOOL_1_TEACHERS = NoticeTarget(
    BroadcastScope.SCHOOL, 1, Audience.TEACHERS
)  # the principal and 4 class teachers


def send(
    app: App,
    sender_id: int,
    target: NoticeTarget,
    text: str,
    now: datetime,
    *,
    ack: bool = True,
    at: datetime | None = None,
    request_key: str | None = None,
) -> int:
    with transaction(app.session_factory) as s:
        sender = s.get(Person, sender_id)
        assert sender is not None
        draft = NoticeDraft(target, {"zh_Hans": text}, ack=ack, at=at)
        return create_broadcast(s, sender, draft, now=now, settings=app.settings, request_key=request_key).id


def remind(
    app: App, person_id: int, notice_id: int, now: datetime, settings: Settings | None = None
) -> Reminded:
    with transaction(app.session_factory) as s:
        return send_reminder(s, s.get(Person, person_id), notice_id, now, settings or app.settings)


def refusal(app: App, person_id: int, notice_id: int, now: datetime) -> str:
    with pytest.raises(BroadcastError) as raised:
        remind(app, person_id, notice_id, now)
    return str(raised.value)


def confirm(app: App, notice_id: int, person_ids: list[int], now: datetime) -> None:
    with transaction(app.session_factory) as s:
        for person_id in person_ids:
            assert acknowledge(s, s.get(Person, person_id), notice_id, now) is True


def reminder_rows(app: App, notice_id: int) -> list[OutboxMessage]:
    with app.session_factory() as s:
        rows = list(
            s.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.ref_id == notice_id, OutboxMessage.kind == "notice_reminder"
                )
            )
        )
        s.expunge_all()
        return rows


# --- parse_when ----------------------------------------------------------------------------------

SHANGHAI = "Asia/Shanghai"
HONOLULU = "Pacific/Honolulu"
# 20:00 UTC on 23 November is already 04:00 on the 24th in Shanghai, still 10:00 on the 23rd in Honolulu.
LATE_EVENING_UTC = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "now", "tz", "expected"),
    [
        # "today" is the school's today, wherever the server is.
        ("08:00", LATE_EVENING_UTC, SHANGHAI, "2026-11-24T00:00:00+00:00"),
        ("08:00", LATE_EVENING_UTC, HONOLULU, "2026-11-23T18:00:00+00:00"),
        # A full-width colon (Chinese keyboards) and a one-digit hour; month and day from the text.
        ("12-05 7：30", LATE_EVENING_UTC, SHANGHAI, "2026-12-04T23:30:00+00:00"),
        ("  12-5   07:30 ", LATE_EVENING_UTC, SHANGHAI, "2026-12-04T23:30:00+00:00"),
        ("2027-01-02 06:05", LATE_EVENING_UTC, SHANGHAI, "2027-01-01T22:05:00+00:00"),
        ("2027-01-02T06:05", LATE_EVENING_UTC, HONOLULU, "2027-01-02T16:05:00+00:00"),
        # The answer is in the zone of the clock it was given.
        (
            "09:15",
            datetime(2026, 11, 23, 8, 0, tzinfo=ZoneInfo(SHANGHAI)),
            SHANGHAI,
            "2026-11-23T09:15:00+08:00",
        ),
        (
            "09:15",
            datetime(2026, 11, 23, 8, 0, tzinfo=ZoneInfo(HONOLULU)),
            SHANGHAI,
            "2026-11-23T15:15:00-10:00",
        ),
    ],
)
def test_a_time_is_read_in_the_schools_zone(text: str, now: datetime, tz: str, expected: str) -> None:
    assert parse_when(text, now, tz).isoformat() == expected


@pytest.mark.parametrize("text", ["2026-02-30 08:00", "25:00", "11-25", "08:0", "tomorrow"])
def test_an_unreadable_time_is_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(BroadcastError) as raised:
        parse_when(text, LATE_EVENING_UTC, SHANGHAI)
    assert str(raised.value) == "看不懂这个时间。请这样写：2026-11-25 08:00、11-25 08:00 或 08:00。"


# --- reminders -----------------------------------------------------------------------------------


def test_a_reminder_goes_once_to_those_who_have_not_confirmed_this_notice(
    app: App, demo, now: datetime
) -> None:  # type: ignore[no-untyped-def]
    parents = parents_of_class(app, 1)
    assert len(parents) >= 30
    link(app, parents + parents_of_class(app, 2), now)
    notice = send(app, demo.principal, CLASS_1, "周五下午家长会。", now)
    # Another notice nobody has confirmed: its recipients are not reminded of this one.
    other = send(app, demo.principal, CLASS_2, "周四体检。", now)
    confirmed = parents[:2]
    confirm(app, notice, confirmed, now)
    later = now + timedelta(hours=1)

    assert remind(app, demo.principal, notice, later) == Reminded(len(parents) - 2, len(parents) - 2, 0)

    rows = reminder_rows(app, notice)
    assert sorted(row.person_id for row in rows) == [p for p in parents if p not in confirmed]
    assert {row.text for row in rows} == {
        "📢 提醒：请确认这条通知\n发自：张校长，红星小学 3年级1班\n\n周五下午家长会。\n\n看完请点“收到”。"
    }
    assert {(row.not_before, row.ref_type) for row in rows} == {(later, "broadcast")}
    assert reminder_rows(app, other) == []
    with app.session_factory() as s:
        assert s.get(Broadcast, notice).reminded_at == later  # type: ignore[union-attr]
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "broadcast.remind")).one()
        assert (audit.actor_person_id, audit.target, audit.details) == (
            demo.principal,
            "class:1/parents",
            {
                "broadcast_id": notice,
                "people": len(parents) - 2,
                "messages": len(parents) - 2,
                "unreachable": 0,
            },
        )


def test_a_single_unconfirmed_recipient_is_still_reminded(app: App, demo, now: datetime) -> None:  # type: ignore[no-untyped-def]
    notice = send(app, demo.admin, SCHOOL_1_TEACHERS, "周三教研。", now)
    with app.session_factory() as s:
        staff = sorted(
            s.scalars(
                select(Person.id).where(Person.name.in_(["张校长", "李芳", "吴洋鹏", "赵秀", "高然诺"]))
            )
        )
    link(app, staff, now)
    confirm(app, notice, [p for p in staff if p != demo.teacher], now)

    assert remind(app, demo.admin, notice, now) == Reminded(1, 1, 0)
    assert [row.person_id for row in reminder_rows(app, notice)] == [demo.teacher]


def test_a_reminder_waits_for_the_end_of_the_configured_quiet_hours(app: App, demo, now: datetime) -> None:  # type: ignore[no-untyped-def]
    link(app, parents_of_class(app, 1)[:3], now)
    notice = send(app, demo.principal, CLASS_1, "周五下午家长会。", now)
    settings = app.settings.model_copy(
        update={"quiet_hours_start": time(20, 0), "quiet_hours_end": time(6, 30)}
    )
    evening = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)  # 20:30 in Shanghai

    assert remind(app, demo.principal, notice, evening, settings) == Reminded(
        3, 3, len(parents_of_class(app, 1)) - 3
    )

    next_morning = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)  # 06:30 on the 24th in Shanghai
    assert {row.not_before for row in reminder_rows(app, notice)} == {next_morning}


def test_a_reminder_of_a_notice_whose_sender_was_deleted_names_only_the_place(
    app: App, demo, now: datetime
) -> None:  # type: ignore[no-untyped-def]
    link(app, parents_of_class(app, 1)[:2], now)
    notice = send(app, demo.principal, CLASS_1, "周五下午家长会。", now)
    with transaction(app.session_factory) as s:
        # What ON DELETE SET NULL leaves when the sender's person record is removed.
        s.execute(update(Broadcast).where(Broadcast.id == notice).values(sender_person_id=None))

    with warnings.catch_warnings():
        warnings.simplefilter("error", SAWarning)  # no lookup of a person by a NULL id
        assert remind(app, demo.admin, notice, now) == Reminded(2, 2, len(parents_of_class(app, 1)) - 2)

    assert {row.text for row in reminder_rows(app, notice)} == {
        "📢 提醒：请确认这条通知\n发自：红星小学 3年级1班\n\n周五下午家长会。\n\n看完请点“收到”。"
    }


def test_a_reminder_is_refused_with_the_reason(app: App, demo, now: datetime) -> None:  # type: ignore[no-untyped-def]
    link(app, parents_of_class(app, 1)[:2], now)

    no_ack = send(app, demo.principal, CLASS_1, "停水通知。", now, ack=False)
    assert refusal(app, demo.principal, no_ack, now) == f"通知 #{no_ack} 不需要确认。"

    cancelled = send(app, demo.principal, CLASS_1, "运动会。", now)
    with transaction(app.session_factory) as s:
        cancel_broadcast(s, s.get(Person, demo.principal), cancelled, now)
    assert refusal(app, demo.principal, cancelled, now) == f"通知 #{cancelled} 已取消。"

    scheduled = send(app, demo.principal, CLASS_1, "明天体检。", now, at=now + timedelta(days=1))
    assert refusal(app, demo.principal, scheduled, now) == f"通知 #{scheduled} 还没有发出。"

    reminded = send(app, demo.principal, CLASS_1, "周五家长会。", now)
    remind(app, demo.principal, reminded, now + timedelta(hours=2))
    assert (
        refusal(app, demo.principal, reminded, now + timedelta(hours=3))
        == f"通知 #{reminded} 已于 11月23日 10:00 提醒过，只能提醒一次。"
    )

    everyone_confirmed = send(app, demo.admin, SCHOOL_1_TEACHERS, "周三教研。", now)
    with app.session_factory() as s:
        staff = list(
            s.scalars(
                select(Person.id).where(Person.name.in_(["张校长", "李芳", "吴洋鹏", "赵秀", "高然诺"]))
            )
        )
    confirm(app, everyone_confirmed, staff, now)
    assert (
        refusal(app, demo.admin, everyone_confirmed, now)
        == f"所有人都已确认通知 #{everyone_confirmed}，不需要提醒。"
    )

    for notice in (no_ack, cancelled, scheduled, everyone_confirmed):
        assert reminder_rows(app, notice) == []
    assert len(reminder_rows(app, reminded)) == 2


# --- creating twice, listing ---------------------------------------------------------------------


def test_a_second_notice_with_the_same_request_key_is_refused_naming_the_first(
    app: App,
    demo,
    now: datetime,  # type: ignore[no-untyped-def]
) -> None:
    first = send(app, demo.principal, CLASS_1, "周五家长会。", now, request_key="k-1")
    with pytest.raises(AlreadySent) as raised:
        send(app, demo.principal, CLASS_1, "周五家长会。", now, request_key="k-1")
    assert raised.value.broadcast_id == first
    assert str(raised.value) == f"这条通知已经发出（通知 #{first}），请勿重复发送。发送 /notices 查看进度。"
    with app.session_factory() as s:
        assert list(s.scalars(select(Broadcast.id))) == [first]


def test_notices_lists_the_eight_newest_by_creation_time(
    app: App,
    console: ConsoleChannel,
    demo,
    now: datetime,  # type: ignore[no-untyped-def]
) -> None:
    # Created out of order (clocks of two hosts), with ties: newest first, the later id first on a tie.
    minutes = [3, 1, 4, 1, 5, 9, 2, 6, 5]
    created = [
        (
            now + timedelta(minutes=m),
            send(app, demo.principal, CLASS_1, f"通知{i}", now + timedelta(minutes=m)),
        )
        for i, m in enumerate(minutes)
    ]
    send(app, demo.admin, CLASS_1, "别人的通知", now + timedelta(minutes=30))
    newest_first = [notice for _at, notice in sorted(created, reverse=True)][:8]

    replies = console.send(demo.principal, "/notices")

    assert [b.payload for b in replies[-1].flat_buttons()] == [f"bcst:{notice}" for notice in newest_first]
    assert [b.label for b in replies[-1].flat_buttons()] == [f"通知 #{notice}" for notice in newest_first]
