"""The /aid dialog through the console harness: guided transcripts, children, free text, bad input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.people.auth import children_of
from db.models import Person, Student
from tests.aid.conftest import transcript

GUIDED = """\
> /aid
孩子在上什么学？
  1. 幼儿园
  2. 小学
  3. 初中
  4. 普通高中
  5. 中职（中专、职高、技校）
  6. 高职（大专）
  7. 大学本科
  8. 研究生
> 3
您家是下面哪种情况？可以选多个，选完点“选好了”。
  1. {rp}
  2. {dibao}
  3. 特困供养
  4. 孤儿
  5. 残疾
  6. 都不是
  7. 不确定
  8. 选好了
> 1
您家是下面哪种情况？可以选多个，选完点“选好了”。
  1. ✓ {rp}
  2. {dibao}
  3. 特困供养
  4. 孤儿
  5. 残疾
  6. 都不是
  7. 不确定
  8. 选好了
> 8
孩子住校吗？
  1. 住校
  2. 不住校，每天回家
  3. 不确定
> 1
学生资助（国家学生资助政策，按2026年11月23日的政策）：
可以领：
• 义务教育免学杂费和免费教科书：全免
• 家庭经济困难寄宿生生活补助：每年1,500元
可能可以领（请向学校确认）：
• 农村义务教育学生营养改善计划（营养餐）：每个上学日5元（以饭菜等实物提供）
  请确认：学校是否在营养改善计划的实施地区
  1. 详情：义务教育免学杂费和免费教科书
  2. 详情：家庭经济困难寄宿生生活补助
  3. 详情：农村义务教育学生营养改善计划（营养餐）
  4. 重新开始"""


def test_guided_dialog_for_a_guest(guest_console: ConsoleChannel) -> None:
    from chatbot.aid.render import flag_label
    from chatbot.i18n import use_locale

    with use_locale("zh_Hans"):
        # Household labels may be shared with other domains' catalogs; take them from the catalog.
        expected = GUIDED.format(rp=flag_label("registered_poor"), dibao=flag_label("dibao"))
    assert transcript(guest_console, "guest-1", "/aid", "3", "1", "8", "1") == expected
    details = transcript(guest_console, "guest-1", "2")
    for line in (
        "【家庭经济困难寄宿生生活补助】",
        "金额：每年1,500元",
        "结果：可以领",
        "  · 学段：初中",
        "  · 住校",
        "怎么申请：",
        "  2. 家长填写《家庭经济困难学生认定申请表》，交给班主任。",
        "地点：孩子就读学校的资助办（先找班主任）",
        "依据：财政部 教育部 关于提高义务教育阶段家庭经济困难寄宿生生活补助标准的通知",
        "  1. 重新开始",
    ):
        assert line in details
    # Start over goes back to the first question.
    assert "孩子在上什么学？" in transcript(guest_console, "guest-1", "1")


def test_none_of_these_and_not_sure_in_english(guest_console: ConsoleChannel) -> None:
    out = transcript(guest_console, "guest-2", "/aid", "4", "6", lang="en")
    assert "Is your family any of these?" in out
    assert "Can get:" not in out
    assert "Nothing in this list matches." in out
    out = transcript(guest_console, "guest-3", "/aid", "4", "7", lang="en")
    assert "National grant for senior high school students: ¥2,300 a year on average (up to ¥3,500)" in out
    # Both senior-high items hinge on household status: the check is said once for all of them.
    assert "For all of these, check: whether the family is recognised as:" in out
    assert out.count("recognised as") == 1


def test_primary_day_pupil_is_not_asked_about_the_province(guest_console: ConsoleChannel) -> None:
    out = transcript(guest_console, "guest-4", "/aid", "2", "2", "8", "2", lang="en")
    assert "province" not in out.lower()
    assert "Living allowance for day pupils from families in difficulty: ¥625 a year" in out


def _set_children(app: App, parent_id: int, records: list[tuple[bool, list[str]]]) -> list[int]:
    with app.session_factory() as s:
        person = s.get(Person, parent_id)
        kids = children_of(s, person)
        for kid, (boarding, household) in zip(kids, records, strict=True):
            kid.boarding = boarding
            kid.household = household
        s.commit()
        return [k.id for k in kids]


def test_parent_picks_a_child_and_the_record_answers_everything(
    app: App, console: ConsoleChannel, demo
) -> None:  # type: ignore[no-untyped-def]
    _set_children(app, demo.parent, [(True, ["registered_poor"]), (False, [])])
    out = transcript(console, demo.parent, "/aid")
    assert "问的是哪个孩子？" in out and "其他孩子" in out
    out = transcript(console, demo.parent, "1")
    assert "学校登记的" in out and "小学、住校、建档立卡贫困户" in out
    assert "孩子在上什么学" not in out and "孩子住校吗" not in out and "您家是下面哪种情况" not in out
    assert "家庭经济困难寄宿生生活补助：每年1,250元" in out
    assert (
        "本地区的资助清单（临夏州2019年精准扶贫学生资助）在2026年11月23日不适用，以下按国家政策回答。" in out
    )


def test_parent_stating_household_but_no_stage_means_their_own_child(
    app: App, console: ConsoleChannel, demo
) -> None:  # type: ignore[no-untyped-def]
    _set_children(app, demo.parent, [(True, []), (False, [])])
    out = transcript(console, demo.parent, "我家是低保户，能领什么补助？")
    assert "问的是哪个孩子？" in out
    out = transcript(console, demo.parent, "2")
    assert "初中、不住校" in out and "您家是下面哪种情况" not in out
    assert "家庭经济困难非寄宿生生活补助：每年750元" in out


def test_second_child_without_household_record_is_asked_only_that(
    app: App, console: ConsoleChannel, demo
) -> None:  # type: ignore[no-untyped-def]
    _set_children(app, demo.parent, [(True, ["registered_poor"]), (False, [])])
    out = transcript(console, demo.parent, "/aid", "2")
    assert "初中、不住校" in out
    assert "您家是下面哪种情况" in out and "孩子住校吗" not in out
    out = transcript(console, demo.parent, "2", "8")
    assert "家庭经济困难非寄宿生生活补助：每年750元" in out


def test_in_2019_the_demo_region_uses_the_linxia_plan(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    _set_children(app, demo.parent, [(True, ["registered_poor"]), (True, ["registered_poor"])])
    autumn_2019 = datetime(2019, 10, 8, 2, 0, tzinfo=UTC)
    console = ConsoleChannel(app.session_factory, app.router, clock=lambda: autumn_2019)
    out = transcript(console, demo.parent, "/aid", "2")
    assert "临夏州2019年精准扶贫学生资助" in out
    assert "家庭经济困难寄宿生生活补助：每年1,250元" in out
    out = transcript(console, demo.parent, "/aid", "1")
    assert "家庭经济困难寄宿生生活补助：每年1,000元" in out


def test_a_forged_child_is_refused(app: App, console: ConsoleChannel, demo) -> None:  # type: ignore[no-untyped-def]
    with app.session_factory() as s:
        mine = {k.id for k in children_of(s, s.get(Person, demo.parent))}
        other = s.scalars(select(Student.id).where(Student.id.not_in(mine))).first()
    console.send(demo.parent, "/aid")
    replies = console.send(demo.parent, payload=f"aidk:{other}")
    assert "没有权限" in replies[0].text


# (text, language hint, lines that must appear)
FREE_TEXT = [
    ("我家孩子上初中住校，是建档立卡户，能领什么补助？", None, ["家庭经济困难寄宿生生活补助：每年1,500元", "义务教育免学杂费和免费教科书：全免"]),
    ("what aid for a university student from a dibao family", "en",
     ["National grant for university and college students: ¥3,700 a year on average (up to ¥5,000)",
      "National student loan: up to ¥20,000 a year"]),
    ("助学贷款怎么申请", None, ["【国家助学贷款（生源地/校园地）】", "地点：县级学生资助管理中心（生源地贷款）或高校资助中心（校园地贷款）"]),
    ("营养餐是什么", None, ["【农村义务教育学生营养改善计划（营养餐）】", "适用：小学、初中", "不用申请"]),
    ("how do I apply for the student loan", "en", ["【National student loan】", "Documents: Admission letter or student card"]),
    ("我家孩子上國中住校，是低保戶，能領什麼補助？", "zh-TW", ["家庭經濟困難寄宿生生活補助：每年1,500元"]),
    ("孩子读高中，家里是低保户，有什么资助", None, ["普通高中国家助学金：平均每年2,300元（最高3,500元）", "普通高中免学杂费：全免"]),
    ("小学生不住校，特困供养，能领多少补助", None, ["家庭经济困难非寄宿生生活补助：每年625元"]),
    ("my daughter is in the last year of kindergarten, what aid can she get", "en",
     ["Free final year of kindergarten: fee waived in full"]),
    ("高职学生，建档立卡，可以贷款吗", None, ["国家助学贷款（生源地/校园地）：每年最多20,000元", "本专科生国家助学金：平均每年3,700元（最高5,000元）"]),
    ("what is the green channel", "en", ["【Green channel for new university students】", "Where: The green-channel desk"]),
    ("研究生能领什么助学金", None, ["您家是下面哪种情况"]),
    ("university student boarding in primary school", "en",
     ["You mentioned more than one stage (primary school, university (undergraduate)); a child is at one stage at a time.",
      "Which stage is the child at?"]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "lang", "expected"), FREE_TEXT)
def test_free_text_questions(
    guest_console: ConsoleChannel, text: str, lang: str | None, expected: list[str]
) -> None:
    out = transcript(guest_console, f"guest-free-{FREE_TEXT.index((text, lang, expected))}", text, lang=lang)
    for line in expected:
        assert line in out, out


def test_at_least_ten_free_text_questions_in_both_languages() -> None:
    assert len(FREE_TEXT) >= 10
    assert {lang for _, lang, _ in FREE_TEXT} >= {None, "en", "zh-TW"}


def test_contradiction_then_choice_drops_boarding_with_a_note(guest_console: ConsoleChannel) -> None:
    transcript(guest_console, "guest-5", "university student boarding in primary school", lang="en")
    out = transcript(guest_console, "guest-5", "7", lang="en")
    assert "Boarding does not change the aid for university (undergraduate), so I left it out." in out
    assert "Is your family any of these?" in out


def test_nonsense_is_answered_clearly(guest_console: ConsoleChannel) -> None:
    out = transcript(guest_console, "guest-6", "/aid asdfgh")
    assert "没看懂这个资助问题，我们一步一步来。" in out and "孩子在上什么学？" in out
    out = transcript(guest_console, "guest-6", "qwerty")
    assert "抱歉，没看懂。请点一个按钮。" in out and "孩子在上什么学？" in out
    out = transcript(guest_console, "guest-6", "初三")  # typed instead of tapped: understood
    assert "您家是下面哪种情况？" in out
    out = transcript(guest_console, "guest-6", "都不是")  # "none of these", typed
    assert "孩子住校吗" not in out and "义务教育免学杂费和免费教科书：全免" in out


def test_other_domains_free_text_is_not_swallowed(guest_console: ConsoleChannel) -> None:
    for text in ("请假", "缺 3 7", "明天开家长会吗", "初三"):
        out = transcript(guest_console, "guest-7", text)
        assert "孩子在上什么学" not in out and "学生资助（" not in out, text


def test_help_offers_aid_to_an_unbound_guest(guest_console: ConsoleChannel) -> None:
    replies = guest_console.send("guest-8", "/help")
    buttons = {b.label: b.payload for b in replies[-1].flat_buttons()}
    assert buttons["学生资助：孩子能领什么？"] == "go:aid"
    assert "孩子在上什么学？" in transcript(guest_console, "guest-8", "1")


FORGED = (
    "aidd:boarding_allowance:national:9xxxxx",
    "aidd:boarding_allowance:../etc:2x1x01",
    "aidd:boarding_allowance:nowhere:2x1x01",
    "aidd:nope:national:2x1x01",
    "aidd:boarding_allowance:national:2x1xzz",
    "aidd:boarding_allowance:national:2x1x40",
    "aidd:x",
)


def test_forged_buttons_are_refused(guest_console: ConsoleChannel) -> None:
    for payload in FORGED:
        out = "\n".join(r.text for r in guest_console.send("guest-9", payload=payload))
        assert "按钮" in out, payload
    guest_console.send("guest-9", "/aid")
    for payload in ("aids:nursery", "aidf:colour:1", "aidf:boarding:7", "aidh:rich"):
        out = "\n".join(r.text for r in guest_console.send("guest-9", payload=payload))
        assert "按钮" in out, payload


def test_detail_button_works_after_the_dialog_ended(guest_console: ConsoleChannel) -> None:
    replies = guest_console.send("guest-10", payload="aidd:boarding_allowance:national:2x1x01")
    assert "每年1,500元" in replies[0].text and "结果：可以领" in replies[0].text


def test_staff_get_the_pack_of_the_region_where_they_work(shared_app: App) -> None:
    from chatbot.people.demo import demo_person

    with shared_app.session_factory() as s:
        teacher = demo_person(s, "teacher")
        assert teacher is not None
        teacher_id = teacher.id
    autumn_2019 = datetime(2019, 10, 8, 2, 0, tzinfo=UTC)
    console = ConsoleChannel(shared_app.session_factory, shared_app.router, clock=lambda: autumn_2019)
    out = transcript(console, teacher_id, "初中住校，建档立卡，能领什么补助？")
    assert "临夏州2019年精准扶贫学生资助" in out and "家庭经济困难寄宿生生活补助：每年1,250元" in out
