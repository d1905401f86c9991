"""/whoami word for word: every role of the demo county, English, an unlinked chat, and memberships whose
class, school or county no longer exists (shown as "?"), with a ward who has left school left out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.core.messages import Reply
from db.models import (
    ChannelIdentity,
    Guardian,
    Membership,
    Person,
    Role,
    School,
    SchoolClass,
    ScopeType,
    Student,
)
from db.session import transaction
from tests.conftest import DemoPeople

MISSING = 10**6


def shown(replies: list[Reply]) -> list[tuple[str, list[tuple[str, str]]]]:
    return [(r.text, [(b.label, b.payload) for b in r.flat_buttons()]) for r in replies]


def test_whoami_for_each_demo_role_word_for_word(console: ConsoleChannel, demo: DemoPeople) -> None:
    assert shown(console.send(demo.parent, "/whoami")) == [
        (
            "您已绑定为 王建国。\n"
            "• 潘佳涵 的家长（红星小学 3年级1班）\n"
            "• 郭轩 的家长（东乡第一初级中学 7年级1班）\n"
            "语言：简体中文",
            [],
        )
    ]
    assert shown(console.send(demo.teacher, "/whoami")) == [
        ("您已绑定为 李芳。\n• 班主任：红星小学 3年级1班\n语言：简体中文", [])
    ]
    assert shown(console.send(demo.principal, "/whoami")) == [
        ("您已绑定为 张校长。\n• 校长：红星小学\n语言：简体中文", [])
    ]
    assert shown(console.send(demo.admin, "/whoami")) == [
        ("您已绑定为 马局长。\n• 县教育局管理员：临夏县(演示)\n语言：简体中文", [])
    ]


def test_whoami_in_english(app: App, console: ConsoleChannel, demo: DemoPeople) -> None:
    for who in (demo.teacher, demo.parent):
        console.send(who, "/whoami")  # makes the chat account
    with transaction(app.session_factory) as s:
        for identity in s.scalars(select(ChannelIdentity).where(ChannelIdentity.channel == "console")):
            identity.locale = "en"
    assert shown(console.send(demo.teacher, "/whoami")) == [
        ("You are linked as 李芳.\n• class teacher: 红星小学 Grade 3 1班\nLanguage: English", [])
    ]
    assert shown(console.send(demo.parent, "/whoami")) == [
        (
            "You are linked as 王建国.\n"
            "• guardian of 潘佳涵 (红星小学 Grade 3 1班)\n"
            "• guardian of 郭轩 (东乡第一初级中学 Grade 7 1班)\n"
            "Language: English",
            [],
        )
    ]


def test_whoami_for_an_unlinked_chat(console: ConsoleChannel) -> None:
    assert shown(console.send("who-guest", "/whoami")) == [
        ("此聊天还没有绑定任何人。请发送 /start 和邀请码。", [])
    ]
    assert shown(console.send("who-guest-en", "/whoami", lang="en")) == [
        ("This chat is not linked to anyone yet. Send /start and your invite code.", [])
    ]


def test_whoami_shows_a_question_mark_for_a_scope_that_is_gone(
    app: App, console: ConsoleChannel, demo: DemoPeople, now: datetime
) -> None:
    with transaction(app.session_factory) as s:
        teacher = s.get(Person, demo.teacher)
        assert teacher is not None
        klass = s.get(SchoolClass, teacher.memberships[0].scope_id)
        assert klass is not None
        school = s.scalars(select(School).where(School.name == "东乡第一初级中学")).one()
        someone = Person(name="赵老师", created_at=now)
        s.add(someone)
        s.flush()
        for role, scope_type, scope_id in [
            (Role.CLASS_TEACHER, ScopeType.CLASS, MISSING),
            (Role.TEACHER, ScopeType.CLASS, klass.id),
            (Role.PRINCIPAL, ScopeType.SCHOOL, MISSING),
            (Role.PRINCIPAL, ScopeType.SCHOOL, school.id),
            (Role.COUNTY_ADMIN, ScopeType.REGION, MISSING),
        ]:
            s.add(Membership(person_id=someone.id, role=role, scope_type=scope_type, scope_id=scope_id))
            s.flush()
        # A ward in the class, and one who has left school: only the first is shown.
        ward = Student(
            school_id=klass.school_id, class_id=klass.id, student_no="W-1", name="赵小明", household=[]
        )
        left = Student(
            school_id=klass.school_id,
            class_id=klass.id,
            student_no="W-2",
            name="赵小红",
            household=[],
            active=False,
        )
        s.add_all([ward, left])
        s.flush()
        s.add_all(
            [
                Guardian(person_id=someone.id, student_id=left.id),
                Guardian(person_id=someone.id, student_id=ward.id),
            ]
        )
        someone_id = someone.id
    replies = shown(console.send(someone_id, "/whoami"))
    assert [buttons for _text, buttons in replies] == [[]]
    lines = replies[0][0].split("\n")
    assert lines[0] == "您已绑定为 赵老师。"
    # Memberships come in the order the database hands them out; the set of lines is what matters.
    assert sorted(lines[1:6]) == sorted(
        [
            "• 班主任：?",
            "• 任课教师：红星小学 3年级1班",
            "• 校长：?",
            "• 校长：东乡第一初级中学",
            "• 县教育局管理员：?",
        ]
    )
    assert lines[6:] == ["• 赵小明 的家长（红星小学 3年级1班）", "语言：简体中文"]
