"""What each reminder says, word for word, in Chinese and in English (the builders render in the active
locale; the engine calls them under each recipient's language)."""

from __future__ import annotations

from datetime import date

import pytest

from chatbot.i18n import _, use_locale
from chatbot.reminders import messages
from chatbot.reminders.messages import VisitItem

START = date(2027, 2, 22)  # a Monday
TWO_PUPILS = [
    VisitItem("王小明", 3, "1班", ("registered_poor",)),
    VisitItem("李华", 4, "2班"),
]


def render(locale: str, build, *args) -> str:  # type: ignore[no-untyped-def]
    with use_locale(locale):
        return build(*args).text


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "zh_Hans",
            "⚠️ 3年级1班 有 2 名学生自 2月22日 周一 开学以来没有任何出勤记录，可能没有返校：\n"
            "• 王小明\n• 李华\n请今天联系他们的家长。",
        ),
        (
            "en",
            "⚠️ 2 pupils of Grade 3 1班 have no attendance since the term started on Mon, Feb 22 and may not "
            "have returned:\n• 王小明\n• 李华\nPlease contact their families today.",
        ),
    ],
)
def test_never_returned_teacher_lists_every_pupil_then_asks_to_call_the_families(
    locale: str, expected: str
) -> None:
    assert render(locale, messages.never_returned_teacher, (3, "1班"), START, TWO_PUPILS) == expected


def test_never_returned_teacher_speaks_of_one_pupil_in_the_singular() -> None:
    assert render("en", messages.never_returned_teacher, (3, "1班"), START, TWO_PUPILS[:1]) == (
        "⚠️ 1 pupil of Grade 3 1班 has no attendance since the term started on Mon, Feb 22 and may not "
        "have returned:\n• 王小明\nPlease contact their families today."
    )


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "zh_Hans",
            "⚠️ 红星小学：有 2 名学生自 2月22日 周一 开学以来没有任何出勤记录：\n• 3年级1班: 王小明\n• 4年级2班: 李华",
        ),
        (
            "en",
            "⚠️ 红星小学: 2 pupils have no attendance since the term started on Mon, Feb 22:\n"
            "• Grade 3 1班: 王小明\n• Grade 4 2班: 李华",
        ),
    ],
)
def test_never_returned_principal_lists_each_pupil_with_their_class(locale: str, expected: str) -> None:
    assert render(locale, messages.never_returned_principal, "红星小学", START, TWO_PUPILS) == expected


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "zh_Hans",
            "📅 还有 7 天开学：王小明、王小红 请于 2月22日 周一 回到红星小学上学。\n"
            "请带好：书包、课本和假期作业、文具。\n"
            "住校生：被褥、保暖衣物和生活用品。\n"
            "本学期开始受理的学生资助：甲、乙。发送 /aid 查看孩子能享受哪些资助。",
        ),
        (
            "en",
            "📅 School starts in 7 days: 王小明、王小红 back at 红星小学 on Mon, Feb 22.\n"
            "Please bring: school bag, textbooks and holiday homework, stationery.\n"
            "Boarders: bedding, warm clothes and daily necessities.\n"
            "Student aid opening this term: 甲、乙. Send /aid to see what your child can get.",
        ),
    ],
)
def test_term_start_parent_names_the_children_what_to_bring_and_the_aid_opening(
    locale: str, expected: str
) -> None:
    with use_locale(locale):
        aid = messages.aid_opening_line(["甲", "乙"])
        text = messages.term_start_parent(["王小明", "王小红"], "红星小学", START, True, aid, 7).text
    assert text == expected


def test_term_start_parent_of_a_day_pupil_the_day_before_without_aid() -> None:
    assert render("en", messages.term_start_parent, ["王小明"], "红星小学", START, False, None, 1) == (
        "📅 School starts in 1 day: 王小明 back at 红星小学 on Mon, Feb 22.\n"
        "Please bring: school bag, textbooks and holiday homework, stationery."
    )


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("zh_Hans", "学生资助：新学期开始受理申请。发送 /aid 查看孩子能享受哪些资助。"),
        ("en", "Student aid: applications open with the new term. Send /aid to see what your child can get."),
    ],
)
def test_the_generic_aid_line_points_to_the_aid_command(locale: str, expected: str) -> None:
    with use_locale(locale):
        assert messages.aid_generic_line() == expected


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "zh_Hans",
            "📅 新学期 2月22日 周一 开学（3年级1班）。请在点名时核查哪些学生还没返校；开学 3 个上课日后，"
            "我会把一直没有出勤记录的学生名单发给您和校长。",
        ),
        (
            "en",
            "📅 The new term starts on Mon, Feb 22 (Grade 3 1班). Please check in roll-call who has not "
            "returned; after 3 school days I will list pupils with no attendance to you and the principal.",
        ),
    ],
)
def test_term_start_teacher_names_the_class_and_when_the_check_comes(locale: str, expected: str) -> None:
    assert render(locale, messages.term_start_teacher, (3, "1班"), START, 3) == expected


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "zh_Hans",
            "🧧 春节就要到了（除夕 2月5日 周五）。\n"
            "春节安全：燃放烟花爆竹要有大人陪同；注意家中用火、用气安全；走亲访友注意交通安全。\n"
            "2月22日 周一 开学，请务必让 王小明、王小红 按时返校。",
        ),
        (
            "en",
            "🧧 Spring Festival is coming (Fri, Feb 5).\n"
            "Safety at Spring Festival: fireworks only with an adult, watch fire and gas at home, and take care "
            "on the roads when visiting family.\n"
            "School starts again on Mon, Feb 22: please make sure 王小明、王小红 come back.",
        ),
    ],
)
def test_spring_festival_notice_gives_the_eve_the_safety_advice_and_the_return(
    locale: str, expected: str
) -> None:
    children = ["王小明", "王小红"]
    text = render(
        locale, messages.holiday_parent, "spring_festival", children, "红星小学", date(2027, 2, 5), START
    )
    assert text == expected


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "zh_Hans",
            "🏠 寒假前家访：3年级1班 有 2 名学生需要家访：\n• 王小明: 建档立卡贫困户、低保家庭、village_flag\n• 李华",
        ),
        (
            "en",
            "🏠 Home visits (家访) before the winter vacation: 2 pupils of Grade 3 1班 to visit:\n"
            "• 王小明: registered poor household、minimum living allowance (低保)、village_flag\n• 李华",
        ),
    ],
)
def test_home_visit_reasons_are_translated_and_unknown_ones_shown_as_they_are(
    locale: str, expected: str
) -> None:
    items = [
        VisitItem("王小明", 3, "1班", ("registered_poor", "dibao", "village_flag")),
        VisitItem("李华", 3, "1班"),
    ]
    assert render(locale, messages.home_visit_teacher, "winter", (3, "1班"), items) == expected


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "zh_Hans",
            "🏠 假期前家访：3年级1班 有 1 名学生需要家访：\n• 王小明",
        ),
        (
            "en",
            "🏠 Home visits (家访) before the vacation: 1 pupil of Grade 3 1班 to visit:\n• 王小明",
        ),
    ],
)
def test_home_visits_before_a_break_of_another_name_speak_of_the_vacation(locale: str, expected: str) -> None:
    items = [VisitItem("王小明", 3, "1班")]
    assert render(locale, messages.home_visit_teacher, "harvest", (3, "1班"), items) == expected


@pytest.mark.parametrize(
    ("kind", "head"),
    [
        ("winter", "❄️ The winter vacation at 红星小学 starts on Sat, Jan 16."),
        ("summer", "☀️ The summer vacation at 红星小学 starts on Sat, Jan 16."),
        ("harvest", "The vacation at 红星小学 starts on Sat, Jan 16."),
    ],
)
def test_a_vacation_notice_opens_with_the_school_and_the_first_day_off(kind: str, head: str) -> None:
    text = render("en", messages.holiday_parent, kind, ["王小明"], "红星小学", date(2027, 1, 16), None)
    # Without a known return day the notice says nothing about coming back.
    assert text.splitlines() == [head, render_safety(kind, "en")]


def test_vacation_heads_in_chinese_name_the_school_and_the_kind_of_break() -> None:
    heads = {
        kind: render(
            "zh_Hans", messages.holiday_parent, kind, ["王小明"], "红星小学", date(2027, 1, 16), None
        )
        for kind in ("winter", "summer", "harvest")
    }
    assert heads == {
        "winter": "❄️ 红星小学 1月16日 周六 开始放寒假。\n" + render_safety("winter"),
        "summer": "☀️ 红星小学 1月16日 周六 开始放暑假。\n" + render_safety("summer"),
        "harvest": "红星小学 1月16日 周六 开始放假。\n" + render_safety("harvest"),
    }


def render_safety(kind: str, locale: str = "zh_Hans") -> str:
    with use_locale(locale):
        return _(messages.SAFETY.get(kind, messages.GENERIC_SAFETY))


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("zh_Hans", "🏠 暑假前家访：3年级1班 这次没有需要家访的学生。"),
        (
            "en",
            "🏠 Home visits before the summer vacation: no pupil of Grade 3 1班 is on the list this time.",
        ),
    ],
)
def test_an_empty_home_visit_list_says_so_for_the_class(locale: str, expected: str) -> None:
    assert render(locale, messages.home_visit_teacher, "summer", (3, "1班"), []) == expected
