"""What a sender reads about their notices in the chat, in English: /notices (one summary line per
notice and a button each) and the whole status text through each state of a notice."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from chatbot.app import App
from chatbot.broadcast.targets import NoticeTarget
from chatbot.channels.console import ConsoleChannel
from db.models import ChannelIdentity, Person
from db.models.broadcast import Audience, Broadcast, BroadcastRecipient, BroadcastScope
from db.session import transaction
from tests.broadcast.bc_chat_helpers import make_notice, set_locale_of, shown
from tests.broadcast.helpers import deliver, link, parents_of_class
from tests.conftest import DemoPeople

CLASS_ONE = NoticeTarget(BroadcastScope.CLASS, 1)  # 红星小学 grade 3 1班, the demo teacher's class
MEETING = "Parents' meeting on Friday at 16:00 in room 3\nPlease come on time."


def waiting_names(app: App, notice: int) -> tuple[str, int]:
    """The first 30 who have not confirmed, by name, marked when they have no chat account; and how many."""
    with app.session_factory() as s:
        rows = s.execute(
            select(Person.id, Person.name)
            .join(BroadcastRecipient, BroadcastRecipient.person_id == Person.id)
            .where(BroadcastRecipient.broadcast_id == notice, BroadcastRecipient.acked_at.is_(None))
            .order_by(Person.name, Person.id)
        ).all()
        linked = set(s.scalars(select(ChannelIdentity.person_id).where(ChannelIdentity.active.is_(True))))
    names = [name if pid in linked else f"{name} (no chat account)" for pid, name in rows[:30]]
    return "、".join(names), len(rows)


def test_the_status_text_through_the_life_of_a_notice(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    set_locale_of(app, "en", demo.teacher)
    parents = parents_of_class(app, 1)
    assert len(parents) == 38
    link(app, parents[:5], now)
    notice = make_notice(
        app, demo.teacher, CLASS_ONE, {"zh_Hans": "家长会", "en": MEETING}, now, base="en", ack=True
    )

    def status(at: datetime = now) -> str:
        [(text, _rows)] = shown(console.send(demo.teacher, payload=f"bcst:{notice}", now=at))
        return text

    names, missing = waiting_names(app, notice)
    assert missing == 38
    assert status() == "\n".join(
        [
            f"Notice #{notice} to 红星小学 grade 3 1班 · parents",
            "Status: sending",
            "Recipients: 38; delivered 0, waiting 5, failed 0.",
            "33 recipients have not linked a chat account yet and cannot receive it.",
            "Confirmed: 0 of 38.",
            f"Not confirmed yet: {names}",
            "… and 8 more.",
        ]
    )
    assert [m.external_id for m in deliver(app, now) if m.external_id != f"person-{demo.teacher}"] == [
        f"person-{p}" for p in parents[:5]
    ]
    for parent in parents[:7]:
        console.send(parent, payload=f"bcack:{notice}")
    link(app, parents[30:32], now)  # too late for the notice, in time for the reminder
    names, missing = waiting_names(app, notice)
    assert missing == 31
    delivered = [
        f"Notice #{notice} to 红星小学 grade 3 1班 · parents",
        "Status: delivered",
        "Recipients: 38; delivered 5, waiting 0, failed 0.",
        "33 recipients have not linked a chat account yet and cannot receive it.",
        "Confirmed: 7 of 38.",
        f"Not confirmed yet: {names}",
        "… and 1 more.",
    ]
    assert status() == "\n".join(delivered)
    later = now + timedelta(hours=1, minutes=30)
    assert shown(console.send(demo.teacher, payload=f"bcrem:{notice}", now=later)) == [
        (
            f"Reminder for notice #{notice} queued: 2 chat messages to 2 people who have not confirmed.\n"
            "29 people who have not confirmed have no chat account linked and could not be reminded.",
            [],
        )
    ]
    assert status(later) == "\n".join([*delivered, "Reminder sent on Nov 23, 09:30."])
    # Seven more confirm: thirty are left, all of them named.
    for parent in parents[7:14]:
        console.send(parent, payload=f"bcack:{notice}")
    names, missing = waiting_names(app, notice)
    assert missing == 24
    assert status(later).splitlines()[4:] == [
        "Confirmed: 14 of 38.",
        f"Not confirmed yet: {names}",
        "Reminder sent on Nov 23, 09:30.",
    ]
    assert shown(console.send(demo.teacher, payload=f"bccan:{notice}", now=later)) == [
        (f"Notice #{notice} cancelled: 2 messages will not be sent.", [])
    ]
    assert status(later).splitlines()[1:3] == [
        "Status: cancelled",
        "Recipients: 38; delivered 5, waiting 0, failed 0.",
    ]


def test_scheduled_unconfirmed_and_fully_confirmed_notices(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    set_locale_of(app, "en", demo.principal)
    link(app, [demo.teacher], now)
    staff = NoticeTarget(BroadcastScope.SCHOOL, 1, Audience.TEACHERS)
    later = make_notice(app, demo.principal, staff, {"zh_Hans": "明天开会"}, now, at=now + timedelta(days=1))
    asked = make_notice(app, demo.principal, staff, {"zh_Hans": "请确认"}, now, ack=True)

    def status(notice: int) -> str:
        [(text, _rows)] = shown(console.send(demo.principal, payload=f"bcst:{notice}"))
        return text

    assert status(later) == "\n".join(
        [
            f"Notice #{later} to 红星小学 · teachers",
            "Status: scheduled for Nov 24, 08:00",
            "Recipients: 4; delivered 0, waiting 1, failed 0.",
            "3 recipients have not linked a chat account yet and cannot receive it.",
        ]
    )
    with app.session_factory() as s:
        teachers = sorted(
            s.scalars(select(BroadcastRecipient.person_id).where(BroadcastRecipient.broadcast_id == asked))
        )
    link(app, teachers, now)
    # The one linked before the notice was queued (and the sender's progress summary).
    assert {m.external_id for m in deliver(app, now)} == {
        f"person-{demo.teacher}",
        f"person-{demo.principal}",
    }
    for teacher in teachers:
        console.send(teacher, payload=f"bcack:{asked}")
    assert status(asked) == "\n".join(
        [
            f"Notice #{asked} to 红星小学 · teachers",
            "Status: delivered",
            "Recipients: 4; delivered 1, waiting 0, failed 0.",
            "3 recipients have not linked a chat account yet and cannot receive it.",
            "Confirmed: 4 of 4.",
        ]
    )
    # Every recipient on a chat account and delivered: no line about unlinked recipients.
    everyone = make_notice(app, demo.principal, staff, {"zh_Hans": "午餐免费"}, now)
    assert len([m for m in deliver(app, now) if m.external_id != f"person-{demo.principal}"]) == 4
    assert status(everyone) == "\n".join(
        [
            f"Notice #{everyone} to 红星小学 · teachers",
            "Status: delivered",
            "Recipients: 4; delivered 4, waiting 0, failed 0.",
        ]
    )


def test_notices_lists_the_latest_first_with_a_button_each(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    set_locale_of(app, "en", demo.teacher)
    assert shown(console.send(demo.teacher, "/notices")) == [
        ("You have not sent any notices yet. Send /notice to write one.", [])
    ]
    link(app, parents_of_class(app, 1)[:2], now)
    first = make_notice(app, demo.teacher, CLASS_ONE, {"en": MEETING}, now, base="en", ack=True)
    second = make_notice(
        app,
        demo.teacher,
        NoticeTarget(BroadcastScope.CLASS, 1, Audience.BOTH),
        {"zh_Hans": "明天春游，请带午饭和水，早上七点半在校门口集合"},
        now,
        at=now + timedelta(days=2, hours=3),
    )
    third = make_notice(app, demo.teacher, CLASS_ONE, {"en": "Hi"}, now, base="en")
    console.send(demo.teacher, payload=f"bccan:{second}")
    assert shown(console.send(demo.teacher, "/notices")) == [
        (
            "Your recent notices:\n"
            f"#{third} 红星小学 grade 3 1班 · parents: sending — “Hi”\n"
            f"#{second} 红星小学 grade 3 1班 · parents and teachers: cancelled — “明天春游，请带午饭和水，早上七点半在校门口集合”\n"
            f"#{first} 红星小学 grade 3 1班 · parents: sending — “Parents' meeting on Frid”",
            [
                [(f"Notice #{third}", f"bcst:{third}")],
                [(f"Notice #{second}", f"bcst:{second}")],
                [(f"Notice #{first}", f"bcst:{first}")],
            ],
        )
    ]
    assert len([m for m in deliver(app, now) if m.external_id != f"person-{demo.teacher}"]) == 4
    lines = shown(console.send(demo.teacher, "/notices", now=now + timedelta(days=3)))[0][0].splitlines()
    assert lines[-1] == f"#{first} 红星小学 grade 3 1班 · parents: delivered — “Parents' meeting on Frid”"


def test_messages_withdrawn_by_cancel_are_counted_as_not_sent_not_as_failed(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    set_locale_of(app, "en", demo.teacher)
    parents = parents_of_class(app, 1)
    link(app, parents[:3], now)
    notice = make_notice(app, demo.teacher, CLASS_ONE, {"en": MEETING}, now, base="en", ack=False)
    assert shown(console.send(demo.teacher, payload=f"bccan:{notice}")) == [
        (f"Notice #{notice} cancelled: 3 messages will not be sent.", [])
    ]

    [(text, rows)] = shown(console.send(demo.teacher, payload=f"bcst:{notice}"))
    assert text.splitlines() == [
        f"Notice #{notice} to 红星小学 grade 3 1班 · parents",
        "Status: cancelled",
        "Recipients: 38; delivered 0, waiting 0, failed 0.",
        "3 recipients were not sent it because the rest was cancelled.",
        "35 recipients have not linked a chat account yet and cannot receive it.",
    ]
    assert rows == [[("Refresh", f"bcst:{notice}")]]


def test_a_notice_row_without_its_base_text_is_listed_with_an_empty_quote(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    set_locale_of(app, "en", demo.teacher)
    notice = make_notice(app, demo.teacher, CLASS_ONE, {"en": "Hi"}, now, base="en")
    with transaction(app.session_factory) as s:  # a row written outside the bot, by hand or a script
        s.execute(update(Broadcast).where(Broadcast.id == notice).values(texts={"en": ""}))
    assert shown(console.send(demo.teacher, "/notices"))[0][0].splitlines() == [
        "Your recent notices:",
        f"#{notice} 红星小学 grade 3 1班 · parents: nobody could be reached on a chat account — “”",
    ]
