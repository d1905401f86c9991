"""The stateless notice buttons (Send, Got it, Status, Remind, Cancel) through the console, in English:
whole replies with their buttons, and the notices they write or refuse to write."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from chatbot.app import App
from chatbot.broadcast.targets import NoticeTarget
from chatbot.channels.console import ConsoleChannel, person_external_id
from db.models import ChannelIdentity, DialogState
from db.models.broadcast import Audience, Broadcast, BroadcastRecipient, BroadcastScope
from db.session import transaction
from tests.broadcast.bc_chat_helpers import make_notice, send_button, set_locale_of, shown, to_preview
from tests.broadcast.helpers import link, parents_of_school, school_id
from tests.conftest import DemoPeople


def broadcasts(app: App) -> list[tuple[int, str | None, bool, datetime]]:
    with app.session_factory() as s:
        return [
            (b.id, b.request_key, b.ack_required, b.scheduled_at)
            for b in s.scalars(select(Broadcast).order_by(Broadcast.id))
        ]


def recipients(app: App, notice: int) -> list[int]:
    with app.session_factory() as s:
        return sorted(
            s.scalars(select(BroadcastRecipient.person_id).where(BroadcastRecipient.broadcast_id == notice))
        )


def test_status_buttons_follow_the_notice_and_the_answers(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    set_locale_of(app, "en", demo.principal, demo.teacher)
    school = school_id(app)
    parents = parents_of_school(app, school)
    link(app, parents[:3], now)
    staff = NoticeTarget(BroadcastScope.SCHOOL, school, Audience.TEACHERS)
    meeting = make_notice(
        app, demo.principal, staff, {"en": "Staff meeting at 16:00"}, now, base="en", ack=True
    )
    water = make_notice(
        app,
        demo.principal,
        NoticeTarget(BroadcastScope.SCHOOL, school),
        {"zh_Hans": "停水通知"},
        now,
        ack=True,
    )
    trip = make_notice(
        app,
        demo.principal,
        NoticeTarget(BroadcastScope.GRADE, school, Audience.BOTH, 3),
        {"zh_Hans": "明天春游"},
        now,
        at=now + timedelta(days=1),
    )
    plain = make_notice(app, demo.principal, staff, {"en": "Lunch is free today"}, now, base="en")

    def status(notice: int) -> list[tuple[str, list[list[tuple[str, str]]]]]:
        return shown(console.send(demo.principal, payload=f"bcst:{notice}"))

    # Nobody on a chat account: nothing is waiting, so there is no Cancel; all four may be reminded.
    [meeting_status] = status(meeting)
    assert meeting_status[1] == [
        [("Refresh", f"bcst:{meeting}")],
        [("Remind the 4 who have not confirmed", f"bcrem:{meeting}")],
    ]
    assert meeting_status[0].splitlines()[:5] == [
        f"Notice #{meeting} to 红星小学 · teachers",
        "Status: nobody could be reached on a chat account",
        "Recipients: 4; delivered 0, waiting 0, failed 0.",
        "4 recipients have not linked a chat account yet and cannot receive it.",
        "Confirmed: 0 of 4.",
    ]
    # The class teacher confirms: once thanked, then told it is already done.
    assert shown(console.send(demo.teacher, payload=f"bcack:{meeting}")) == [
        ("Thank you, your confirmation was recorded.", [])
    ]
    assert shown(console.send(demo.teacher, payload=f"bcack:{meeting}")) == [
        ("You already confirmed this notice. Thank you.", [])
    ]
    assert status(meeting)[0][1] == [
        [("Refresh", f"bcst:{meeting}")],
        [("Remind the 3 who have not confirmed", f"bcrem:{meeting}")],
    ]
    for teacher in recipients(app, meeting):
        console.send(teacher, payload=f"bcack:{meeting}")
    # Everyone confirmed: only Refresh.
    assert status(meeting)[0][1] == [[("Refresh", f"bcst:{meeting}")]]
    # Sent now to parents, three of them waiting in the outbox: Remind and Cancel.
    assert status(water)[0][1] == [
        [("Refresh", f"bcst:{water}")],
        [("Remind the 142 who have not confirmed", f"bcrem:{water}")],
        [("Cancel the rest", f"bccan:{water}")],
    ]
    # Scheduled for tomorrow without confirmation: Cancel only.
    assert status(trip)[0][1] == [[("Refresh", f"bcst:{trip}")], [("Cancel the rest", f"bccan:{trip}")]]
    # Sent now without confirmation, to nobody reachable: Refresh only.
    assert status(plain)[0][1] == [[("Refresh", f"bcst:{plain}")]]

    assert shown(console.send(demo.principal, payload=f"bcrem:{water}")) == [
        (
            f"Reminder for notice #{water} queued: 3 chat messages to 3 people who have not confirmed.\n"
            "139 people who have not confirmed have no chat account linked and could not be reminded.",
            [],
        )
    ]
    # Reminded once: no second Remind button.
    assert status(water)[0][1] == [[("Refresh", f"bcst:{water}")], [("Cancel the rest", f"bccan:{water}")]]
    assert shown(console.send(demo.principal, payload=f"bccan:{water}")) == [
        (f"Notice #{water} cancelled: 6 messages will not be sent.", [])
    ]
    assert status(water)[0][1] == [[("Refresh", f"bcst:{water}")]]
    assert shown(console.send(demo.principal, payload=f"bccan:{water}")) == [
        (f"Notice #{water} was already cancelled.", [])
    ]
    assert shown(console.send(demo.principal, payload=f"bcrem:{plain}")) == [
        (f"Notice #{plain} did not ask for confirmation.", [])
    ]
    assert status(999) == [("There is no notice #999.", [])]
    # Someone the notice was not for may not confirm it, nor see its status.
    assert shown(console.send(demo.teacher, payload=f"bcack:{water}")) == [
        ("This notice was not sent to you.", [])
    ]
    assert shown(console.send(demo.teacher, payload=f"bcst:{water}")) == [
        (f"There is no notice #{water}.", [])
    ]


def test_send_creates_the_previewed_notice_once(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    set_locale_of(app, "en", demo.principal)
    preview = to_preview(
        console,
        demo.principal,
        scope="school:1:0",
        audience="teachers",
        text="Staff meeting",
        when="now",
        ack="1",
    )
    key = send_button(preview)
    assert shown(console.send(demo.principal, payload=key)) == [
        (
            "Notice #1: 0 chat messages queued for 0 of 4 people, from Nov 23, 08:00.\n"
            "4 people have no chat account linked and will not receive it.",
            [[("Status", "bcst:1")]],
        )
    ]
    assert shown(console.send(demo.principal, payload=key)) == [
        ("This notice was already sent (notice #1). Send /notices to follow it.", [])
    ]
    assert broadcasts(app) == [(1, key.split(":", 1)[1], True, now)]

    preview = to_preview(
        console,
        demo.principal,
        scope="school:1:0",
        audience="both",
        text="Sports day",
        when="tomorrow",
        ack="0",
    )
    key = send_button(preview)
    assert shown(console.send(demo.principal, payload=key)) == [
        (
            "Notice #2: 0 chat messages queued for 0 of 146 people, from Nov 24, 08:00.\n"
            "146 people have no chat account linked and will not receive it.\n"
            "Send /notices to cancel it before then.",
            [[("Status", "bcst:2")]],
        )
    ]
    assert broadcasts(app)[1] == (2, key.split(":", 1)[1], False, now + timedelta(days=1))


def test_send_from_a_stale_preview_or_dialog_sends_nothing(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    set_locale_of(app, "en", demo.principal)
    expired = [("This preview has expired. Send /notice to start again.", [])]
    assert shown(console.send(demo.principal, payload="ntcgo:0123456789ab")) == expired

    old = send_button(
        to_preview(
            console, demo.principal, scope="school:1:0", audience="teachers", text="A", when="now", ack="0"
        )
    )
    new = send_button(
        to_preview(
            console, demo.principal, scope="school:1:0", audience="teachers", text="B", when="now", ack="0"
        )
    )
    assert old != new
    # The first preview's Send, while the second preview waits at its confirm step.
    assert shown(console.send(demo.principal, payload=old)) == expired
    # The dialog holds this key but is not at the confirm step any more.
    with transaction(app.session_factory) as s:
        identity = s.scalars(
            select(ChannelIdentity.id).where(
                ChannelIdentity.external_id == person_external_id(demo.principal)
            )
        ).one()
        row = s.get(DialogState, identity)
        assert row is not None
        assert (row.flow, row.state) == ("notice", "confirm")
        row.state = "ack"
    assert shown(console.send(demo.principal, payload=new)) == expired
    with transaction(app.session_factory) as s:
        row = s.get(DialogState, identity)
        assert row is not None
        row.flow, row.state = "notices", "confirm"
    assert shown(console.send(demo.principal, payload=new)) == expired
    assert broadcasts(app) == []


def test_send_after_the_scheduled_time_passed_explains_and_sends_nothing(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    set_locale_of(app, "en", demo.principal)
    key = send_button(
        to_preview(
            console, demo.principal, scope="school:1:0", audience="teachers", text="A", when="08:30", ack="0"
        )
    )
    assert shown(console.send(demo.principal, payload=key, now=now + timedelta(hours=2))) == [
        (
            "Nov 23, 08:30 is in the past. Please choose a later time, or send now.\n"
            "Nothing was sent. Send /notice to start again.",
            [],
        )
    ]
    assert broadcasts(app) == []
    with app.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(BroadcastRecipient)) == 0


def test_unlinked_chats_are_pointed_at_binding(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    notice = make_notice(
        app, demo.principal, NoticeTarget(BroadcastScope.SCHOOL, school_id(app)), {"zh_Hans": "通知"}, now
    )
    link_first = [("Please link your account first: send /start and enter the code from your school.", [])]
    assert shown(console.send("stranger", payload=f"bcack:{notice}", lang="en")) == link_first
    assert shown(console.send("stranger", payload="ntcgo:0123456789ab", lang="en")) == link_first
