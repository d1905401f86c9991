"""/help word for word for a guardian, a class teacher (more commands than the six buttons), a county
admin and an unlinked chat, in English and Chinese: the list, the one-tap buttons (never one for /help
itself), and the note for someone not linked yet; and "/start CODE" with the code typed in two parts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.core.messages import Reply
from chatbot.people.invites import issue_code
from db.models import ChannelIdentity, InviteCode, Person
from db.session import transaction
from tests.conftest import DemoPeople

Shown = list[tuple[str, list[list[tuple[str, str]]]]]

GUARDIAN = (
    "What I can do for you:\n"
    "/leave — ask for leave for your child\n"
    "/aid — student aid: what can my child get?\n"
    "/calendar — School calendar: holidays and term dates\n"
    "/whoami — who am I linked as\n"
    "/language — change language / 切换语言\n"
    "/forget — unlink this chat\n"
    "/help — show this list"
)
GUARDIAN_BUTTONS = [
    [("ask for leave for your child", "go:leave")],
    [("student aid: what can my child get?", "go:aid")],
    [("School calendar: holidays and term dates", "go:calendar")],
    [("who am I linked as", "go:whoami")],
    [("change language / 切换语言", "go:language")],
    [("unlink this chat", "go:forget")],
]
TEACHER = (
    "What I can do for you:\n"
    "/todo — your to-do list: leave requests, answers, cases\n"
    "/aid — student aid: what can my child get?\n"
    "/rollcall — take today's roll-call\n"
    "/cases — dropout-risk cases (控辍保学)\n"
    "/notice — send a notice\n"
    "/notices — see my notices, remind, cancel\n"
    "/status — record a pupil's status: enrolled, suspended, transferred, graduated, dropped out\n"
    "/calendar — School calendar: holidays and term dates\n"
    "/whoami — who am I linked as\n"
    "/language — change language / 切换语言\n"
    "/forget — unlink this chat\n"
    "/help — show this list"
)
# Eleven commands besides /help, but only the first six get a button.
TEACHER_BUTTONS = [
    [("your to-do list: leave requests, answers, cases", "go:todo")],
    [("student aid: what can my child get?", "go:aid")],
    [("take today's roll-call", "go:rollcall")],
    [("dropout-risk cases (控辍保学)", "go:cases")],
    [("send a notice", "go:notice")],
    [("see my notices, remind, cancel", "go:notices")],
]
UNLINKED = (
    "What I can do for you:\n"
    "/aid — student aid: what can my child get?\n"
    "/start — link your account\n"
    "/language — change language / 切换语言\n"
    "/help — show this list\n"
    "You are not linked yet: send /start and your invite code."
)
UNLINKED_BUTTONS = [
    [("student aid: what can my child get?", "go:aid")],
    [("link your account", "go:start")],
    [("change language / 切换语言", "go:language")],
]


def shown(replies: list[Reply]) -> Shown:
    return [(r.text, [[(b.label, b.payload) for b in row] for row in r.buttons]) for r in replies]


def test_help_for_a_guardian_and_a_class_teacher(console: ConsoleChannel, demo: DemoPeople) -> None:
    assert shown(console.send(demo.parent, "/help", lang="en")) == [(GUARDIAN, GUARDIAN_BUTTONS)]
    assert shown(console.send(demo.teacher, "/menu", lang="en")) == [(TEACHER, TEACHER_BUTTONS)]


def test_help_for_a_county_admin(console: ConsoleChannel, demo: DemoPeople) -> None:
    text = (
        TEACHER.replace("/rollcall — take today's roll-call\n", "")
        .replace(
            "/cases — dropout-risk cases (控辍保学)\n",
            "/cases — dropout-risk cases (控辍保学)\n/report — attendance report with chart\n",
        )
        .replace(
            "/status — record a pupil's status: enrolled, suspended, transferred, graduated, dropped out\n",
            "",
        )
    )
    buttons = [row for row in TEACHER_BUTTONS if row[0][1] != "go:rollcall"]
    buttons.insert(3, [("attendance report with chart", "go:report")])
    assert shown(console.send(demo.admin, "/help", lang="en")) == [(text, buttons)]


def test_help_for_an_unlinked_chat(console: ConsoleChannel) -> None:
    assert shown(console.send("pe-guest", "/help", lang="en")) == [(UNLINKED, UNLINKED_BUTTONS)]
    assert shown(console.send("pe-guest-zh", "/help")) == [
        (
            "我可以帮您：\n"
            "/aid — 学生资助：孩子能领什么？\n"
            "/start — 绑定账号\n"
            "/language — 切换语言 / language\n"
            "/help — 显示本列表\n"
            "您还没有绑定：发送 /start 和邀请码即可绑定。",
            [
                [("学生资助：孩子能领什么？", "go:aid")],
                [("绑定账号", "go:start")],
                [("切换语言 / language", "go:language")],
            ],
        )
    ]


def test_start_with_the_code_in_two_parts_links_and_shows_the_guardian_menu(
    app: App, console: ConsoleChannel, demo: DemoPeople
) -> None:
    now = app.clock()
    with transaction(app.session_factory) as s:
        parent = s.get(Person, demo.parent)
        assert parent is not None
        code = issue_code(
            s, parent, role="guardian", scope_type=None, scope_id=None, now=now, valid_for=timedelta(days=1)
        )
    assert shown(console.send("pe-new-phone", f"/start {code[:4]} {code[4:].lower()}", lang="en")) == [
        ("Done! You are now linked as 王建国.", []),
        (GUARDIAN, GUARDIAN_BUTTONS),
    ]
    with app.session_factory() as s:
        identity = s.scalars(
            select(ChannelIdentity).where(ChannelIdentity.external_id == "pe-new-phone")
        ).one()
        used = s.scalars(select(InviteCode)).one()
        assert (identity.person_id, used.used_at, used.used_by_identity_id) == (demo.parent, now, identity.id)
