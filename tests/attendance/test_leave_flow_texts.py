"""Pins the leave dialog word for word: every question, button, refusal, the teacher's copy and its rows.

The demo parent 王建国 has two children: 潘佳涵 (红星小学 3年级1班, class teacher 李芳) and 郭轩.
Monday 23 November 2026 is "today"; 28 and 29 November are a weekend.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import delete, select

from chatbot.attendance.leave import parse_dates
from chatbot.channels.console import ConsoleChannel, person_external_id
from db.models import AuditLog, ChannelIdentity, Membership, OutboxMessage, Role, SchoolClass, Student
from db.models.attendance import LeaveKind, LeaveRequest, LeaveStatus
from db.models.core import DialogState
from db.session import transaction
from tests.attendance.helpers import MONDAY, at, button_rows, shown

if TYPE_CHECKING:
    from chatbot.app import App
    from tests.conftest import DemoPeople

TUESDAY = MONDAY + timedelta(days=1)
CHILD = 1  # 潘佳涵, the demo parent's child in the demo teacher's class
OTHER_CHILD = 143  # 郭轩, in another school

Shown = tuple[str, list[tuple[str, str]]]

WHICH_CHILD: Shown = ("为哪个孩子请假？", [("潘佳涵", "lvk:1"), ("郭轩", "lvk:143")])
WHICH_DAYS: Shown = (
    "给潘佳涵请假：哪几天？",
    [("今天", "lvs:today"), ("明天", "lvs:tomorrow"), ("今天和明天", "lvs:two"), ("其他日期…", "lvs:other")],
)
WHICH_KIND: Shown = ("病假还是事假？", [("🤒 病假", "lvt:sick"), ("📝 事假", "lvt:personal")])
ANY_REASON: Shown = ("有什么要告诉老师的吗？请输入，或跳过。", [("跳过", "lvn:1")])
TYPE_DATES: Shown = ("请输入日期，或起止日期，例如 11-25 或 11-25 11-27。", [])
BAD_RANGE: Shown = ("请填写最近一周以后的日期，最多连续31天。", [])
CHOOSE_BUTTON: Shown = ("请选择一个按钮。", [])
NOT_ALLOWED: Shown = ("抱歉，您没有权限这样做。", [])


def _dialog(app: App, person_id: int) -> tuple[str, str] | None:
    """The (flow, state) the person's console chat is in, None when no dialog is open."""
    with app.session_factory() as s:
        identity_id = s.scalars(
            select(ChannelIdentity.id).where(
                ChannelIdentity.channel == "console",
                ChannelIdentity.external_id == person_external_id(person_id),
            )
        ).one()
        row = s.get(DialogState, identity_id)
        return None if row is None else (row.flow, row.state)


def _tamper_dialog(app: App, person_id: int, **changes: Any) -> None:
    """Change the open dialog's scratch data, as a stale dialog after a roster change would hold."""
    with transaction(app.session_factory) as s:
        identity_id = s.scalars(
            select(ChannelIdentity.id).where(ChannelIdentity.external_id == person_external_id(person_id))
        ).one()
        row = s.get(DialogState, identity_id)
        assert row is not None
        row.data = {**row.data, **changes}


def _leaves(app: App) -> list[tuple[Any, ...]]:
    with app.session_factory() as s:
        return [
            (lr.student_id, lr.requested_by, lr.kind, lr.first_day, lr.last_day, lr.reason, lr.status)
            for lr in s.scalars(select(LeaveRequest).order_by(LeaveRequest.id))
        ]


def test_only_leave_words_from_a_guardian_open_the_dialog(
    console: ConsoleChannel, app: App, demo: DemoPeople
) -> None:
    chatter = console.send(demo.parent, "你好", now=at(MONDAY, 7))
    assert chatter[0].text == "抱歉，我没有看懂。"
    assert "为哪个孩子请假？" not in "\n".join(r.text for r in chatter)
    assert _dialog(app, demo.parent) is None
    assert shown(console.send(demo.parent, "孩子发烧了", now=at(MONDAY, 7))) == [WHICH_CHILD]
    assert _dialog(app, demo.parent) == ("leave", "child")


@pytest.mark.parametrize(
    ("opening", "day"),
    [
        ("/leave Today", MONDAY),
        ("/leave TODAY", MONDAY),
        ("明天请假", TUESDAY),
        ("/leave Tomorrow", TUESDAY),
        ("/leave TOMORROW please", TUESDAY),
    ],
)
def test_the_day_said_in_the_opening_skips_the_days_question(
    console: ConsoleChannel,
    app: App,
    demo: DemoPeople,
    opening: str,
    day: date,
) -> None:
    console.external_id(demo.teacher)
    assert shown(console.send(demo.parent, opening, now=at(MONDAY, 7))) == [WHICH_CHILD]
    assert shown(console.send(demo.parent, "1", now=at(MONDAY, 7))) == [WHICH_KIND]
    assert shown(console.send(demo.parent, "2", now=at(MONDAY, 7))) == [ANY_REASON]
    done = console.send(demo.parent, "1", now=at(MONDAY, 7))  # skip the reason
    shown_day = "11月23日 周一" if day == MONDAY else "11月24日 周二"
    assert shown(done) == [(f"已发给班主任：潘佳涵事假，{shown_day}。老师的答复会发到这里。", [])]
    assert _dialog(app, demo.parent) is None
    assert _leaves(app) == [(CHILD, demo.parent, LeaveKind.PERSONAL, day, day, None, LeaveStatus.PENDING)]


@pytest.mark.parametrize(
    ("button", "first", "last", "days_text"),
    [
        ("1", MONDAY, MONDAY, "11月23日 周一"),
        ("2", TUESDAY, TUESDAY, "11月24日 周二"),
        ("3", MONDAY, TUESDAY, "11月23日 周一至11月24日 周二"),
    ],
    ids=["today", "tomorrow", "two"],
)
def test_each_days_button_asks_the_rest_and_sends_the_teacher_an_exact_copy(
    console: ConsoleChannel,
    app: App,
    demo: DemoPeople,
    button: str,
    first: date,
    last: date,
    days_text: str,
) -> None:
    console.external_id(demo.teacher)
    assert shown(console.send(demo.parent, "/leave", now=at(MONDAY, 7))) == [WHICH_CHILD]
    days = console.send(demo.parent, "1", now=at(MONDAY, 7))
    assert shown(days) == [WHICH_DAYS]
    assert button_rows(days[0]) == [
        [("今天", "lvs:today"), ("明天", "lvs:tomorrow")],
        [("今天和明天", "lvs:two"), ("其他日期…", "lvs:other")],
    ]
    assert _dialog(app, demo.parent) == ("leave", "span")
    assert shown(console.send(demo.parent, button, now=at(MONDAY, 7))) == [WHICH_KIND]
    assert _dialog(app, demo.parent) == ("leave", "kind")
    assert shown(console.send(demo.parent, "1", now=at(MONDAY, 7))) == [ANY_REASON]
    assert _dialog(app, demo.parent) == ("leave", "reason")
    done = console.send(demo.parent, "  发烧38度  ", now=at(MONDAY, 7, 30))
    assert shown(done) == [(f"已发给班主任：潘佳涵病假，{days_text}。老师的答复会发到这里。", [])]
    assert _leaves(app) == [
        (CHILD, demo.parent, LeaveKind.SICK, first, last, "发烧38度", LeaveStatus.PENDING)
    ]
    [request] = console.pushed(demo.teacher, now=at(MONDAY, 7, 31))
    with app.session_factory() as s:
        leave_id = s.scalars(select(LeaveRequest.id)).one()
    assert request.text == (
        f"📝 请假申请：潘佳涵（3年级1班），病假，{days_text}。申请人：王建国。\n原因：发烧38度"
    )
    assert button_rows(request) == [[("✅ 批准", f"lva:{leave_id}:1"), ("❌ 不批准", f"lva:{leave_id}:0")]]


def test_the_dialog_in_english(console: ConsoleChannel, app: App, demo: DemoPeople) -> None:
    console.external_id(demo.teacher)

    def say(text: str) -> list[Shown]:
        return shown(console.send(demo.parent, text, now=at(MONDAY, 7), lang="en"))

    assert say("/leave") == [("For which child?", [("潘佳涵", "lvk:1"), ("郭轩", "lvk:143")])]
    assert say("maybe") == [("Please choose one of the buttons.", [])]
    assert say("1") == [
        (
            "Leave for 潘佳涵: which days?",
            [
                ("Today", "lvs:today"),
                ("Tomorrow", "lvs:tomorrow"),
                ("Today and tomorrow", "lvs:two"),
                ("Other days…", "lvs:other"),
            ],
        )
    ]
    assert say("4") == [("Type the date, or the first and last day, e.g. 11-25 or 11-25 11-27.", [])]
    assert say("11-25 12-26") == [
        ("Please give days from the last week onwards, at most 31 days in a row.", [])
    ]
    assert say("11-28 11-29") == [
        ("There is no school on Sat, Nov 28 to Sun, Nov 29, so no leave is needed.", [])
    ]
    assert _dialog(app, demo.parent) is None
    say("/leave")
    say("1")
    say("4")
    assert say("11-25 11-26") == [
        ("Sick leave or personal leave?", [("🤒 Sick", "lvt:sick"), ("📝 Personal", "lvt:personal")])
    ]
    assert say("sick") == [("Please choose one of the buttons.", [])]
    assert say("2") == [("Anything the teacher should know? Type it, or skip.", [("Skip", "lvn:1")])]
    assert say("1") == [
        (
            "Sent to the class teacher: personal leave for 潘佳涵, Wed, Nov 25 to Thu, Nov 26. "
            "You will get the answer here.",
            [],
        )
    ]


def test_typing_instead_of_choosing_a_child_or_a_kind_keeps_the_question_open(
    console: ConsoleChannel,
    app: App,
    demo: DemoPeople,
) -> None:
    console.send(demo.parent, "/leave", now=at(MONDAY, 7))
    assert shown(console.send(demo.parent, "老大", now=at(MONDAY, 7))) == [CHOOSE_BUTTON]
    assert _dialog(app, demo.parent) == ("leave", "child")
    assert shown(console.send(demo.parent, payload="lvk:1", now=at(MONDAY, 7))) == [WHICH_DAYS]
    assert shown(console.send(demo.parent, payload="lvs:today", now=at(MONDAY, 7))) == [WHICH_KIND]
    assert shown(console.send(demo.parent, "病假吧", now=at(MONDAY, 7))) == [CHOOSE_BUTTON]
    assert _dialog(app, demo.parent) == ("leave", "kind")
    # A kind that is neither sick nor personal (an old or forged button) is refused the same way.
    assert shown(console.send(demo.parent, payload="lvt:holiday", now=at(MONDAY, 7))) == [CHOOSE_BUTTON]
    assert _dialog(app, demo.parent) == ("leave", "kind")
    assert shown(console.send(demo.parent, payload="lvt:sick", now=at(MONDAY, 7))) == [ANY_REASON]


@pytest.mark.parametrize(
    ("typed", "reply", "state"),
    [
        ("下周吧", ("看不懂这个日期。请输入例如 11-25，多天请输入 11-25 11-27。", []), "dates"),
        ("11-27 11-25", BAD_RANGE, "dates"),  # the last day before the first
        ("11-15 11-16", BAD_RANGE, "dates"),  # starts 8 days ago
        ("11-16", WHICH_KIND, "kind"),  # exactly a week ago is still fine
        ("11-25", WHICH_KIND, "kind"),  # one day
        ("11-25 12-25", WHICH_KIND, "kind"),  # 31 days in a row
        ("11-25 12-26", BAD_RANGE, "dates"),  # 32 days in a row
    ],
)
def test_typed_days_from_a_week_ago_and_at_most_31_in_a_row(
    console: ConsoleChannel,
    app: App,
    demo: DemoPeople,
    typed: str,
    reply: Shown,
    state: str,
) -> None:
    console.send(demo.parent, "/leave", now=at(MONDAY, 7))
    console.send(demo.parent, "1", now=at(MONDAY, 7))
    assert shown(console.send(demo.parent, "4", now=at(MONDAY, 7))) == [TYPE_DATES]
    assert _dialog(app, demo.parent) == ("leave", "dates")
    assert shown(console.send(demo.parent, typed, now=at(MONDAY, 7))) == [reply]
    assert _dialog(app, demo.parent) == ("leave", state)
    if state == "dates":  # the question stays open: a good answer now goes on
        assert shown(console.send(demo.parent, "11-24", now=at(MONDAY, 7))) == [WHICH_KIND]


@pytest.mark.parametrize(
    ("typed", "said"),
    [("11-28", "11月28日 周六"), ("11-28 11-29", "11月28日 周六至11月29日 周日")],
)
def test_no_leave_for_days_without_school(
    console: ConsoleChannel,
    app: App,
    demo: DemoPeople,
    typed: str,
    said: str,
) -> None:
    console.send(demo.parent, "/leave", now=at(MONDAY, 7))
    console.send(demo.parent, "1", now=at(MONDAY, 7))
    reply = console.send(demo.parent, typed, now=at(MONDAY, 7))  # typed straight at the days question
    assert shown(reply) == [(f"{said}不上课，不需要请假。", [])]
    assert _dialog(app, demo.parent) is None
    assert _leaves(app) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-11-25", (date(2027, 11, 25), date(2027, 11, 25))),
        ("2025年12月1日", (date(2025, 12, 1), date(2025, 12, 1))),
        ("11-25 11-26 11-27", None),  # three days: unclear
        ("25号 26号 27号", None),
        ("9-24", (date(2026, 9, 24), date(2026, 9, 24))),  # exactly 60 days ago: this year
        ("9-23", (date(2027, 9, 23), date(2027, 9, 23))),  # 61 days ago: next year
    ],
)
def test_parse_dates_years_and_counts(text: str, expected: tuple[date, date] | None) -> None:
    assert parse_dates(text, MONDAY) == expected


def _set_active(app: App, student_id: int, active: bool) -> None:
    with transaction(app.session_factory) as s:
        student = s.get(Student, student_id)
        assert student is not None
        student.active = active


def test_a_guardian_whose_children_left_school_is_told_so(
    console: ConsoleChannel, app: App, demo: DemoPeople
) -> None:
    _set_active(app, CHILD, False)
    _set_active(app, OTHER_CHILD, False)
    reply = console.send(demo.parent, "/leave", now=at(MONDAY, 7))
    assert shown(reply) == [("请假只限学生家长使用。请向学校索取邀请码。", [])]
    assert _dialog(app, demo.parent) is None


def test_a_guardian_of_one_child_goes_straight_to_the_days(
    console: ConsoleChannel, app: App, demo: DemoPeople
) -> None:
    _set_active(app, OTHER_CHILD, False)
    assert shown(console.send(demo.parent, "/leave", now=at(MONDAY, 7))) == [WHICH_DAYS]
    assert _dialog(app, demo.parent) == ("leave", "span")


def test_a_stale_child_in_the_dialog_is_refused(console: ConsoleChannel, app: App, demo: DemoPeople) -> None:
    console.send(demo.parent, "/leave", now=at(MONDAY, 7))
    console.send(demo.parent, "1", now=at(MONDAY, 7))
    _tamper_dialog(app, demo.parent, student_id=999999)
    assert shown(console.send(demo.parent, "1", now=at(MONDAY, 7))) == [NOT_ALLOWED]
    assert _dialog(app, demo.parent) is None


@pytest.mark.parametrize("student_id", [999999, 2], ids=["gone", "not-theirs"])
def test_a_child_changed_before_the_reason_is_refused(
    console: ConsoleChannel,
    app: App,
    demo: DemoPeople,
    student_id: int,
) -> None:
    console.external_id(demo.teacher)
    console.send(demo.parent, "/leave", now=at(MONDAY, 7))
    console.send(demo.parent, "1", now=at(MONDAY, 7))
    console.send(demo.parent, "1", now=at(MONDAY, 7))
    assert shown(console.send(demo.parent, "1", now=at(MONDAY, 7))) == [ANY_REASON]
    _tamper_dialog(app, demo.parent, student_id=student_id)
    assert shown(console.send(demo.parent, "1", now=at(MONDAY, 7))) == [NOT_ALLOWED]
    assert _leaves(app) == []
    assert console.pushed(demo.teacher, now=at(MONDAY, 7, 5)) == []


def _without_class_teacher(app: App) -> None:
    with transaction(app.session_factory) as s:
        student = s.get(Student, CHILD)
        assert student is not None
        klass = s.get(SchoolClass, student.class_id)
        assert klass is not None
        klass.class_teacher_id = None


def test_a_class_without_class_teacher_goes_to_the_principal(
    console: ConsoleChannel, app: App, demo: DemoPeople
) -> None:
    console.external_id(demo.teacher)
    console.external_id(demo.principal)
    _without_class_teacher(app)
    for text in ("/leave", "1", "1", "1"):
        console.send(demo.parent, text, now=at(MONDAY, 7))
    reply = console.send(demo.parent, "1", now=at(MONDAY, 7))
    assert "已发给校长" in shown(reply)[0][0] and "已发给班主任" not in shown(reply)[0][0]
    assert console.pushed(demo.teacher, now=at(MONDAY, 7, 5)) == []
    [request] = console.pushed(demo.principal, now=at(MONDAY, 7, 5))
    approved = console.send(demo.principal, payload=request.flat_buttons()[0].payload, now=at(MONDAY, 7, 6))
    assert "已批准" in shown(approved)[0][0]


def test_a_request_nobody_can_receive_is_saved_and_says_so(
    console: ConsoleChannel, app: App, demo: DemoPeople
) -> None:
    """Neither the class teacher nor the principal has a chat account: the guardian is not told it
    was sent; the request waits (pending, so its days are excused) for the teacher's /todo."""
    for text in ("/leave", "1", "1", "1"):
        console.send(demo.parent, text, now=at(MONDAY, 7))
    reply = console.send(demo.parent, "1", now=at(MONDAY, 7))
    assert shown(reply)[0][0].startswith("已保存") and "已发给" not in shown(reply)[0][0]
    assert len(_leaves(app)) == 1
    with app.session_factory() as s:
        assert s.scalars(select(OutboxMessage)).all() == []
    todo = console.send(demo.teacher, "/todo", now=at(MONDAY, 8))
    assert "等您处理的请假申请" in shown(todo)[0][0] and "潘佳涵" in shown(todo)[0][0]


def test_a_class_with_neither_class_teacher_nor_principal_is_told_to_phone(
    console: ConsoleChannel, app: App, demo: DemoPeople
) -> None:
    _without_class_teacher(app)
    with transaction(app.session_factory) as s:
        s.execute(delete(Membership).where(Membership.role == Role.PRINCIPAL))
    for text in ("/leave", "1", "1", "1"):
        console.send(demo.parent, text, now=at(MONDAY, 7))
    reply = console.send(demo.parent, "1", now=at(MONDAY, 7))
    assert shown(reply) == [("孩子的班级还没有登记班主任，请打电话给学校。", [])]
    # Nobody could answer it, so no request is left pending.
    assert _leaves(app) == []


def test_the_teachers_copy_row_and_the_audit_entry(
    console: ConsoleChannel, app: App, demo: DemoPeople
) -> None:
    """The school keeps Xinjiang time: the copy waits for the end of quiet hours there."""
    teacher_chat = console.external_id(demo.teacher)
    with transaction(app.session_factory) as s:
        student = s.get(Student, CHILD)
        assert student is not None
        student.school_class.school.timezone = "Asia/Urumqi"
    asked = at(MONDAY, 7, 30)  # 05:30 in Urumqi, inside the quiet hours there
    for text in ("孩子发烧了", "1"):
        console.send(demo.parent, text, now=asked)
    assert shown(console.send(demo.parent, "3", now=asked)) == [ANY_REASON]  # today and tomorrow, sick
    console.send(demo.parent, "   ", now=asked)  # an empty message: no reason
    with app.session_factory() as s:
        leave = s.scalars(select(LeaveRequest)).one()
        assert (leave.kind, leave.first_day, leave.last_day, leave.reason) == (
            LeaveKind.SICK,
            MONDAY,
            TUESDAY,
            None,
        )
        teacher_identity = s.scalars(
            select(ChannelIdentity.id).where(ChannelIdentity.external_id == teacher_chat)
        ).one()
        [row] = s.scalars(select(OutboxMessage)).all()
        assert (
            row.identity_id,
            row.person_id,
            row.channel,
            row.kind,
            row.dedupe_key,
            row.ref_type,
            row.ref_id,
            row.tz,
            row.not_before,
            row.created_at,
        ) == (
            teacher_identity,
            demo.teacher,
            "console",
            "attendance.leave_request",
            f"att.leave:{leave.id}:ask|{teacher_identity}",
            "leave_request",
            leave.id,
            "Asia/Urumqi",
            at(MONDAY, 9),  # 07:00 in Urumqi
            asked,
        )
        assert (
            row.text
            == "📝 请假申请：潘佳涵（3年级1班），病假，11月23日 周一至11月24日 周二。申请人：王建国。"
        )
        audits = [
            (a.at, a.actor_person_id, a.action, a.target, a.details)
            for a in s.scalars(select(AuditLog).where(AuditLog.action.like("attendance.leave%")))
        ]
        assert audits == [
            (
                asked,
                demo.parent,
                "attendance.leave.request",
                f"leave:{leave.id}",
                {"student_id": CHILD, "routed": True},
            )
        ]
