"""The chat command /calendar, whole reply pinned: which schools each person sees (a class teacher the
school of the class, a county admin every school of the county), whether today is a school day, the next
events within 150 days (at most five), the line for a school without any, the provisional-调休 note that
only county admins get, and the reply to a bound person linked to no school.

The demo calendar (see test_show_command.py): autumn term 2026-09-01 – 2027-01-15, winter vacation
2027-01-16 – 02-21, spring term 2027-02-22 – 07-09, summer vacation 2027-07-10 – 08-31. 2026 is
confirmed; 2027 comes from python-holidays and is provisional.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select, update

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from db.models import Membership, Person, Role, School, ScopeType
from db.models.calendar import OfficialDayEntry
from db.session import transaction
from tests.calendar.test_show_command import add_school
from tests.conftest import DemoPeople

# 09:00 in Shanghai.
SUN_DEC_20_2026 = datetime(2026, 12, 20, 1, 0, tzinfo=UTC)
MON_DEC_21_2026 = datetime(2026, 12, 21, 1, 0, tzinfo=UTC)
MON_MAR_1_2027 = datetime(2027, 3, 1, 1, 0, tzinfo=UTC)
TUE_FEB_1_2028 = datetime(2028, 2, 1, 1, 0, tzinfo=UTC)

# From 20 or 21 December 2026 the next 150 days reach 19 or 20 May 2027: seven events, of which the first
# five are listed (Qingming on 5 April and Labour Day on 1 May are left out).
DECEMBER_EVENTS = [
    "• 2026年9月1日 周二 – 2027年1月15日 周五：秋季学期",
    "• 2027年1月1日 周五：元旦（放假）",
    "• 2027年1月16日 周六 – 2月21日 周日：寒假",
    "• 2027年2月5日 周五 – 2月10日 周三：春节（放假）",
    "• 2027年2月22日 周一 – 7月9日 周五：春季学期",
]
NOTE_2027 = (
    "⚠️ 尚未确认：2027年的调休（补班）安排。这些年份的节假日为推算结果；国务院公布放假安排后请导入"
    "（bot.py calendar import）。"
)


def calendar_replies(console: ConsoleChannel, who: int, now: datetime) -> list[str]:
    return [reply.text for reply in console.send(who, "/calendar", now=now)]


def add_person(app: App, name: str, *memberships: tuple[Role, ScopeType, int]) -> int:
    with transaction(app.session_factory) as s:
        found = Person(name=name, phone=None, locale=None, created_at=SUN_DEC_20_2026)
        s.add(found)
        s.flush()
        for role, scope_type, scope_id in memberships:
            s.add(Membership(person_id=found.id, role=role, scope_type=scope_type, scope_id=scope_id))
        return found.id


def test_a_county_admin_sees_every_school_of_the_county_then_the_provisional_note(
    console: ConsoleChannel, demo: DemoPeople
) -> None:
    assert calendar_replies(console, demo.admin, SUN_DEC_20_2026) == [
        "\n".join(
            [
                "📅 红星小学",
                "今天（12月20日 周日）不上课。",
                *DECEMBER_EVENTS,
                "",
                "📅 东乡第一初级中学",
                "今天（12月20日 周日）不上课。",
                *DECEMBER_EVENTS,
                "",
                NOTE_2027,  # 20 December 2026 + 150 days ends in 2027, not 2028
            ]
        )
    ]


def test_a_class_teacher_sees_the_school_of_the_class_on_a_school_day(
    console: ConsoleChannel, demo: DemoPeople
) -> None:
    assert calendar_replies(console, demo.teacher, MON_DEC_21_2026) == [
        "\n".join(["📅 红星小学", "今天（12月21日 周一）上课。", *DECEMBER_EVENTS])
    ]


def test_events_starting_within_150_days_are_listed(console: ConsoleChannel, demo: DemoPeople) -> None:
    # 1 March 2027 + 150 days = 29 July 2027: the summer vacation starts on 10 July, 131 days on.
    events = [
        "• 2月22日 周一 – 7月9日 周五：春季学期",
        "• 4月5日 周一：清明节（放假）",
        "• 5月1日 周六 – 5月4日 周二：劳动节（放假）",
        "• 6月9日 周三：端午节（放假）",
        "• 7月10日 周六 – 8月31日 周二：暑假",
    ]
    assert calendar_replies(console, demo.parent, MON_MAR_1_2027) == [
        "\n".join(
            [
                "📅 红星小学",
                "今天（3月1日 周一）上课。",
                *events,
                "",
                "📅 东乡第一初级中学",
                "今天（3月1日 周一）上课。",
                *events,
            ]
        )
    ]


def test_a_county_admin_of_one_school_without_events_and_a_confirmed_year(
    app: App, console: ConsoleChannel
) -> None:
    add_school(app, "gansu-empty", "山村小学")  # a new region (id 2) without calendar entries
    admin = add_person(app, "李主任", (Role.COUNTY_ADMIN, ScopeType.REGION, 2))
    with transaction(app.session_factory) as s:
        # 2028 imported with nothing but a make-up working day at its end: no holiday in the 150 days from
        # 1 February (to 30 June), and 2028 is confirmed, so no note (2029 lies beyond the listing).
        s.add(
            OfficialDayEntry(
                day=date(2028, 12, 30), year=2028, workday=True, holiday=None, created_at=SUN_DEC_20_2026
            )
        )
    assert calendar_replies(console, admin, TUE_FEB_1_2028) == [
        "📅 山村小学\n今天（2月1日 周二）上课。\n近几个月没有校历安排。"
    ]


def test_a_bound_person_linked_to_no_school_is_told_so(app: App, console: ConsoleChannel) -> None:
    nobody = add_person(app, "王五")
    assert calendar_replies(console, nobody, SUN_DEC_20_2026) == ["您还没有关联到学校。"]


def test_a_county_admin_sees_the_schools_in_the_order_they_were_added(
    app: App, console: ConsoleChannel, demo: DemoPeople
) -> None:
    # Moving the first school to another county and back puts its row behind the second one in
    # PostgreSQL's table and index: only the ORDER BY keeps the order the schools were added in.
    away = add_school(app, "gansu-empty", "山村小学")
    with transaction(app.session_factory) as s:
        home = s.scalars(select(School.region_id).where(School.name == "红星小学")).one()
        away_region = s.scalars(select(School.region_id).where(School.id == away)).one()
        first, second = s.scalars(select(School).where(School.region_id == home).order_by(School.id)).all()
        names = [first.name, second.name]
        first.region_id = away_region
    with transaction(app.session_factory) as s:
        s.execute(update(School).where(School.name == names[0]).values(region_id=home))
    (reply,) = calendar_replies(console, demo.admin, SUN_DEC_20_2026)
    assert [line for line in reply.splitlines() if line.startswith("📅 ")] == [f"📅 {name}" for name in names]
