"""Account flows through the console harness: /start, /help per role, /whoami, /forget, the demo county."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.core.messages import Reply
from chatbot.delivery.outbox import enqueue_for_person
from chatbot.demo import seed_demo
from chatbot.people.demo import DEMO_PARENT_NAME
from db.models import (
    AuditLog,
    ChannelIdentity,
    Guardian,
    Membership,
    OutboxMessage,
    OutboxStatus,
    Person,
    Region,
    Role,
    School,
    SchoolClass,
    Student,
)
from db.session import transaction
from tests.conftest import DemoPeople


def texts(replies: list[Reply]) -> str:
    return "\n".join(r.text for r in replies)


def test_start_for_a_bound_user_greets_and_shows_the_menu(console: ConsoleChannel, demo: DemoPeople) -> None:
    replies = console.send(demo.parent, "/start")
    assert DEMO_PARENT_NAME in replies[0].text
    assert "/help" in texts(replies)
    assert replies[-1].buttons, "the menu comes with one-tap buttons"


@pytest.mark.parametrize(
    ("who", "present", "absent"),
    [
        ("guest", ["/start", "/language"], ["/forget", "/whoami"]),
        ("parent", ["/whoami", "/language", "/forget"], ["/start"]),
        ("teacher", ["/whoami", "/forget"], ["/start"]),
        ("admin", ["/whoami"], ["/start"]),
    ],
)
def test_help_lists_what_the_role_may_use(
    who: str, present: list[str], absent: list[str], console: ConsoleChannel, demo: DemoPeople
) -> None:
    target: int | str = "guest-help" if who == "guest" else getattr(demo, who)
    menu = texts(console.send(target, "/help"))
    for command in present:
        assert command in menu, (who, command)
    for command in absent:
        assert f"{command} " not in menu, (who, command)


def test_help_buttons_start_their_flow(console: ConsoleChannel, demo: DemoPeople) -> None:
    replies = console.send(demo.parent, "/help")
    labels = [b.label for b in replies[-1].flat_buttons()]
    number = next(i for i, label in enumerate(labels, start=1) if "语言" in label)
    assert "English" in [b.label for b in console.send(demo.parent, str(number))[-1].flat_buttons()]


def test_whoami_for_each_role(console: ConsoleChannel, demo: DemoPeople) -> None:
    assert "红星小学" in texts(console.send(demo.parent, "/whoami"))
    assert "东乡第一初级中学" in texts(console.send(demo.parent, "/whoami"))  # one child in each school
    assert "班主任" in texts(console.send(demo.teacher, "/whoami"))
    assert "校长" in texts(console.send(demo.principal, "/whoami"))
    assert "县" in texts(console.send(demo.admin, "/whoami"))
    assert "/start" in texts(console.send("guest-who", "/whoami"))


def test_forget_unlinks_and_cancels_queued_messages(
    console: ConsoleChannel, app: App, demo: DemoPeople, now: datetime
) -> None:
    console.send(demo.parent, "/whoami")  # makes the console identity
    with transaction(app.session_factory) as s:
        parent = s.get(Person, demo.parent)
        assert parent is not None
        rows = enqueue_for_person(s, parent, lambda: Reply("明天放假"), kind="test", now=now)
        assert len(rows) == 1
    replies = console.send(demo.parent, "/forget")
    assert [b.label for b in replies[-1].flat_buttons()] == ["确定解除", "不了"]
    assert "/start" in texts(console.send(demo.parent, "1"))
    with app.session_factory() as s:
        identity = s.scalars(
            select(ChannelIdentity).where(ChannelIdentity.external_id == f"person-{demo.parent}")
        ).one()
        assert identity.person_id is None
        statuses = s.scalars(
            select(OutboxMessage.status).where(OutboxMessage.identity_id == identity.id)
        ).all()
        assert statuses == [OutboxStatus.CANCELLED]
        assert s.scalars(select(AuditLog).where(AuditLog.action == "identity.forget")).one()
        # The person and their children stay: only this chat was unlinked.
        assert s.get(Person, demo.parent) is not None


def test_forget_can_be_declined(console: ConsoleChannel, app: App, demo: DemoPeople) -> None:
    console.send(demo.parent, "/forget")
    console.send(demo.parent, "2")
    assert "王建国" in texts(console.send(demo.parent, "/whoami"))


def test_forget_for_an_unbound_chat(console: ConsoleChannel) -> None:
    assert "/forget" not in texts(console.send("nobody", "/help"))
    replies = texts(console.send("nobody", "/forget"))
    assert replies  # never silent


def test_demo_county_is_realistic(app: App) -> None:
    with app.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Region)) == 1
        assert s.scalar(select(func.count()).select_from(School)) == 2
        sizes = {
            cid: n for cid, n in s.execute(select(Student.class_id, func.count()).group_by(Student.class_id))
        }
        assert len(sizes) >= 6 and all(25 <= n <= 45 for n in sizes.values())
        assert s.scalar(select(func.count()).select_from(SchoolClass)) == len(sizes)
        students = list(s.scalars(select(Student)))
        assert all("\u4e00" <= st.name[0] <= "\u9fff" for st in students)
        assert any(st.boarding for st in students) and not all(st.boarding for st in students)
        poor = [st for st in students if "registered_poor" in st.household]
        assert 0.05 * len(students) < len(poor) < 0.5 * len(students)
        assert all(st.guardians for st in students)
        by_role = select(Membership.role, func.count()).group_by(Membership.role)
        roles = {role: count for role, count in s.execute(by_role)}
        assert roles[Role.CLASS_TEACHER] == len(sizes)
        assert roles[Role.PRINCIPAL] == 2 and roles[Role.COUNTY_ADMIN] == 1
        assert all(c.class_teacher_id for c in s.scalars(select(SchoolClass)))


def test_seeding_twice_changes_nothing(app: App, now: datetime) -> None:
    models = (Region, School, SchoolClass, Student, Person, Guardian, Membership)

    def counts() -> list[int]:
        with app.session_factory() as s:
            return [s.scalar(select(func.count()).select_from(m)) or 0 for m in models]

    before = counts()
    with transaction(app.session_factory) as s:
        assert seed_demo(s, now) is False
    assert counts() == before


def test_seeding_an_empty_database(empty_app: App, now: datetime) -> None:
    with transaction(empty_app.session_factory) as s:
        assert seed_demo(s, now) is True
    with transaction(empty_app.session_factory) as s:
        assert seed_demo(s, now) is False
    with empty_app.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Student)) == 38 + 42 + 27 + 35 + 45 + 40 + 31


def test_console_chat_as_a_guest_from_the_first_line(console: ConsoleChannel) -> None:
    """`console --as guest`: no chat account exists before the first line, and that must not matter."""
    import io

    out = io.StringIO()
    console.chat("guest-chat", ["/start\n", "KKKKKKKK\n"], out=out)
    transcript = out.getvalue()
    assert "> /start" in transcript and "邀请码" in transcript
    assert "不正确" in transcript
