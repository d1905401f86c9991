"""The /aid dialog through the console harness: guided transcripts, children, free text, bad input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from chatbot.aid.dialog import decode_profile, encode_profile
from chatbot.aid.engine import Profile
from chatbot.app import App
from chatbot.channels.console import ConsoleChannel, render_reply
from chatbot.core.payloads import BadPayload
from chatbot.people.auth import children_of
from db.models import (
    HOUSEHOLD_FLAGS,
    Guardian,
    Membership,
    Person,
    Region,
    Role,
    School,
    ScopeType,
    Stage,
    Student,
)
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
以上结果按这些情况得出：初中、住校、{rp}。
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


# --- the profile carried in detail buttons ---------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "code"),
    [
        (Profile(), "xxxxxx"),
        (Profile(stage=Stage.PRESCHOOL, preschool_final_year=True, household=frozenset()), "01xx00"),
        (
            Profile(
                stage=Stage.JUNIOR,
                preschool_final_year=False,
                boarding=True,
                in_province=False,
                household=frozenset({"dibao", "disabled"}),
            ),
            "201012",
        ),
        (Profile(stage=Stage.POSTGRADUATE, in_province=True, household=frozenset(HOUSEHOLD_FLAGS)), "7xx11f"),
        (Profile(boarding=False, household=frozenset({"registered_poor"})), "xx0x01"),
    ],
)
def test_profile_code_round_trip(profile: Profile, code: str) -> None:
    """Stage index, final year, boarding, in-province (1/0/x), then the household bitmask in hex or 'xx'."""
    assert encode_profile(profile) == code
    assert decode_profile(code) == profile


@pytest.mark.parametrize("code", ["8xxxxx", "2xxx20", "2xxx40", "2xxxzz", "2y1x01", "2x1x0", "ax1x01"])
def test_forged_profile_codes_are_refused(code: str) -> None:
    with pytest.raises(BadPayload):
        decode_profile(code)


# --- the dialog through the console ----------------------------------------------------------------

AUTUMN_2019 = datetime(2019, 10, 8, 2, 0, tzinfo=UTC)
LINXIA_2019_HEADER = "学生资助（临夏州2019年精准扶贫学生资助，按2019年10月8日的政策）："
HOUSEHOLD_QUESTION = """\
您家是下面哪种情况？可以选多个，选完点“选好了”。
  1. 建档立卡贫困户
  2. 低保户
  3. 特困供养
  4. 孤儿
  5. 残疾
  6. 都不是
  7. 不确定
  8. 选好了"""


def test_not_sure_about_boarding_is_not_asked_again(guest_console: ConsoleChannel) -> None:
    transcript(guest_console, "guest-11", "/aid", "3", "1", "8")
    out = transcript(guest_console, "guest-11", "3")
    assert out.splitlines()[1:4] == [
        "学生资助（国家学生资助政策，按2026年11月23日的政策）：",
        "可以领：",
        "• 义务教育免学杂费和免费教科书：全免",
    ]
    assert "  请确认：孩子是否住校" in out.splitlines()


def test_household_choices_toggle_in_place(guest_console: ConsoleChannel) -> None:
    guest_console.send("guest-12", "/aid")
    first = guest_console.send("guest-12", "3")[-1]
    assert first.edit is False
    ticked = guest_console.send("guest-12", "1")[-1]
    assert ticked.edit is True
    assert [b.label for b in ticked.flat_buttons()][:2] == ["✓ 建档立卡贫困户", "低保户"]
    unticked = guest_console.send("guest-12", "1")[-1]
    assert unticked.edit is True
    assert render_reply(unticked) == HOUSEHOLD_QUESTION
    out = transcript(guest_console, "guest-12", "2", "8", "2")
    assert "• 家庭经济困难非寄宿生生活补助：每年750元" in out.splitlines()


def test_household_question_asked_again_keeps_the_ticks(guest_console: ConsoleChannel) -> None:
    """Ticks are never dropped silently: after the stage changes, the question comes back with them."""
    transcript(guest_console, "guest-13", "/aid", "3", "1")
    again = transcript(guest_console, "guest-13", "高中")
    assert again == "> 高中\n" + HOUSEHOLD_QUESTION.replace("1. 建档立卡", "1. ✓ 建档立卡")
    out = transcript(guest_console, "guest-13", "2")
    assert "✓ 低保户" in out and "✓ 建档立卡贫困户" in out


def test_answer_ends_with_a_working_start_over_button(guest_console: ConsoleChannel) -> None:
    replies = guest_console.send("guest-14", "初中，家里都不是，能领什么补助？")
    assert render_reply(replies[-1]) == (
        "学生资助（国家学生资助政策，按2026年11月23日的政策）：\n"
        "可以领：\n"
        "• 义务教育免学杂费和免费教科书：全免\n"
        "可能可以领（请向学校确认）：\n"
        "• 农村义务教育学生营养改善计划（营养餐）：每个上学日5元（以饭菜等实物提供）\n"
        "  请确认：学校是否在营养改善计划的实施地区\n"
        "以上结果按这些情况得出：初中、家庭不属于所列情况。\n"
        "  1. 详情：义务教育免学杂费和免费教科书\n"
        "  2. 详情：农村义务教育学生营养改善计划（营养餐）\n"
        "  3. 重新开始"
    )
    assert transcript(guest_console, "guest-14", "3").splitlines()[1] == "孩子在上什么学？"


def test_aid_command_reads_everything_after_the_command(guest_console: ConsoleChannel) -> None:
    out = transcript(guest_console, "guest-15", "/aid 初中 不住校 低保户")
    assert "• 家庭经济困难非寄宿生生活补助：每年750元" in out.splitlines()


def test_two_contradictions_in_one_note(guest_console: ConsoleChannel) -> None:
    replies = guest_console.send("guest-16", "初中和高中，住校又走读")
    assert replies[0].text == (
        "您说了不止一个学段（初中、普通高中），一个孩子同时只在一个学段。\n您说的前后不一致，我再问一次。"
    )
    assert replies[1].text == "孩子在上什么学？"


def test_boarding_said_both_ways_is_asked_again(guest_console: ConsoleChannel) -> None:
    replies = guest_console.send("guest-17", "初中住校又走读，低保户")
    assert [r.text for r in replies] == ["您说的前后不一致，我再问一次。", "孩子住校吗？"]


def test_dropping_boarding_is_said_in_one_exact_line(guest_console: ConsoleChannel) -> None:
    transcript(guest_console, "guest-18", "university student boarding in primary school", lang="en")
    replies = guest_console.send("guest-18", "7", lang="en")
    assert (
        replies[0].text
        == "Boarding does not change the aid for university (undergraduate), so I left it out."
    )


def test_facts_that_do_not_matter_are_left_out_of_the_detail_buttons(guest_console: ConsoleChannel) -> None:
    """The province for a junior pupil and the kindergarten year for a university student are dropped."""
    junior = guest_console.send("guest-19", "初中住校，低保户，在本省")[-1]
    assert junior.flat_buttons()[0].payload == "aidd:free_tuition_textbooks:national:2x1x02"
    transcript(
        guest_console, "guest-20", "aid for a university student, final year of kindergarten", lang="en"
    )
    university = guest_console.send("guest-20", "6", lang="en")[-1]
    assert university.flat_buttons()[0].payload == "aidd:national_scholarship:national:6xxx00"


def test_explaining_an_item_ends_with_a_start_button(guest_console: ConsoleChannel) -> None:
    """At most two items are explained; the last reply offers to start the dialog."""
    replies = guest_console.send("guest-21", "助学贷款、营养餐和绿色通道是什么")
    assert [r.text.splitlines()[0] for r in replies] == [
        "【国家助学贷款（生源地/校园地）】",
        "【农村义务教育学生营养改善计划（营养餐）】",
    ]
    assert [(b.label, b.payload) for b in replies[-1].flat_buttons()] == [("我家孩子能领什么？", "go:aid")]
    assert transcript(guest_console, "guest-21", "1").splitlines()[1] == "孩子在上什么学？"


def test_explaining_uses_the_region_pack_then_the_national_one(shared_app: App) -> None:
    from chatbot.people.demo import demo_person

    with shared_app.session_factory() as s:
        teacher = demo_person(s, "teacher")
        assert teacher is not None
        teacher_id = teacher.id
    console = ConsoleChannel(shared_app.session_factory, shared_app.router, clock=lambda: AUTUMN_2019)
    loan = console.send(teacher_id, "助学贷款怎么申请")
    assert loan[0].text.splitlines()[0] == "【生源地信用助学贷款】"
    meal = console.send(teacher_id, "营养餐是什么")  # not in the Linxia plan: the national item
    assert meal[0].text.splitlines()[0] == "【农村义务教育学生营养改善计划（营养餐）】"


def test_typing_instead_of_picking_a_child(app: App, console: ConsoleChannel, demo) -> None:  # type: ignore[no-untyped-def]
    _set_children(app, demo.parent, [(False, []), (False, [])])
    assert transcript(console, demo.parent, "/aid", "随便").splitlines()[-1] == "请点一个按钮。"
    replies = console.send(demo.parent, payload="aids:junior")
    assert [r.text for r in replies] == ["请点一个按钮。"]
    out = transcript(console, demo.parent, "1")
    assert out.splitlines()[1] == f"学校登记的{_child_names(app, demo.parent)[0]}的情况：小学、不住校。"


def test_someone_else_is_asked_from_the_start(console: ConsoleChannel, demo) -> None:  # type: ignore[no-untyped-def]
    transcript(console, demo.parent, "/aid")
    assert transcript(console, demo.parent, "3").splitlines()[1] == "孩子在上什么学？"


def test_parent_stating_the_stage_is_not_asked_which_child(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    console = ConsoleChannel(app.session_factory, app.router, clock=lambda: AUTUMN_2019)
    out = transcript(console, demo.parent, "初中住校，建档立卡，能领什么补助？")
    assert out.splitlines()[1:4] == [
        LINXIA_2019_HEADER,
        "可以领：",
        "• 家庭经济困难寄宿生生活补助：每年1,250元",
    ]


def test_linxia_plan_in_force_has_no_fallback_note(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    _set_children(app, demo.parent, [(True, ["registered_poor"]), (True, ["registered_poor"])])
    console = ConsoleChannel(app.session_factory, app.router, clock=lambda: AUTUMN_2019)
    out = transcript(console, demo.parent, "/aid", "2")
    assert out.splitlines()[6:8] == [
        "学校登记的" + _child_names(app, demo.parent)[1] + "的情况：初中、住校、建档立卡贫困户。",
        LINXIA_2019_HEADER,
    ]


def test_a_parent_with_one_child_is_answered_from_the_record(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    """No child question; the household stated in the text completes the record."""
    with app.session_factory() as s:
        guardian = s.scalars(
            select(Guardian).where(Guardian.person_id != demo.parent).order_by(Guardian.person_id)
        ).first()
        assert guardian is not None
        parent_id, name = guardian.person_id, s.get(Student, guardian.student_id).name  # type: ignore[union-attr]
    console = ConsoleChannel(app.session_factory, app.router, clock=app.clock)
    replies = console.send(parent_id, "我家是低保户，能领什么补助？")
    assert replies[0].text == (
        f"学校登记的{name}的情况：小学、不住校。\n"
        "本地区的资助清单（临夏州2019年精准扶贫学生资助）在2026年11月23日不适用，以下按国家政策回答。"
    )
    assert "• 家庭经济困难非寄宿生生活补助：每年625元" in replies[1].text.splitlines()
    assert transcript(console, parent_id, "/aid").splitlines()[1:3] == [
        f"学校登记的{name}的情况：小学、不住校。",
        "您家是下面哪种情况？可以选多个，选完点“选好了”。",
    ]


def test_record_of_a_senior_pupil_drops_boarding_silently(app: App, console: ConsoleChannel, demo) -> None:  # type: ignore[no-untyped-def]
    with app.session_factory() as s:
        child = children_of(s, s.get(Person, demo.parent))[0]
        child.school_class.school.stage = Stage.SENIOR
        child.household = ["dibao"]
        s.commit()
    out = transcript(console, demo.parent, "/aid", "1")
    assert "住不住校无关" not in out
    assert (
        out.splitlines()[6]
        == f"学校登记的{_child_names(app, demo.parent)[0]}的情况：普通高中、不住校、低保户。"
    )


def test_record_of_a_vocational_pupil_counts_as_in_the_home_province(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    with app.session_factory() as s:
        child = children_of(s, s.get(Person, demo.parent))[0]
        child.school_class.school.stage = Stage.SECONDARY_VOCATIONAL
        child.household = ["registered_poor"]
        s.commit()
    console = ConsoleChannel(app.session_factory, app.router, clock=lambda: AUTUMN_2019)
    out = transcript(console, demo.parent, "/aid", "1")
    assert out.splitlines()[7:11] == [
        LINXIA_2019_HEADER,
        "可以领：",
        "• 中职免学费资助：每年2,000元",
        "• 中职国家助学金：每年2,000元",
    ]


def test_province_answer_is_kept(shared_app: App) -> None:
    from chatbot.people.demo import demo_person

    with shared_app.session_factory() as s:
        teacher = demo_person(s, "teacher")
        assert teacher is not None
        teacher_id = teacher.id
    console = ConsoleChannel(shared_app.session_factory, shared_app.router, clock=lambda: AUTUMN_2019)
    assert (
        transcript(console, teacher_id, "中职，建档立卡户，能领什么补助？").splitlines()[1]
        == "学校在本省吗？"
    )
    assert transcript(console, teacher_id, "1").splitlines()[1:4] == [
        LINXIA_2019_HEADER,
        "可以领：",
        "• 中职免学费资助：每年2,000元",
    ]
    stated = transcript(console, teacher_id, "中职，建档立卡户，在本省上学，能领什么补助？")
    assert stated.splitlines()[1] == LINXIA_2019_HEADER


@pytest.mark.parametrize("role", ["principal", "admin", "teacher"])
def test_staff_of_a_school_or_the_county_get_its_pack(shared_app: App, role: str) -> None:
    from chatbot.people.demo import demo_person

    with shared_app.session_factory() as s:
        staff = demo_person(s, role)
        assert staff is not None
        staff_id = staff.id
    console = ConsoleChannel(shared_app.session_factory, shared_app.router, clock=lambda: AUTUMN_2019)
    out = transcript(console, staff_id, "初中住校，建档立卡，能领什么补助？")
    assert out.splitlines()[1] == LINXIA_2019_HEADER


def test_child_in_another_region_uses_that_region_pack(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    """The second child's school is in a region without its own plan: national rules for that child."""
    with app.session_factory() as s:
        other = Region(code="elsewhere", name="别处", aid_pack=None)
        s.add(other)
        s.flush()
        second = children_of(s, s.get(Person, demo.parent))[1]
        second.school_class.school.region_id = other.id
        second.boarding, second.household = True, ["registered_poor"]
        s.commit()
    console = ConsoleChannel(app.session_factory, app.router, clock=lambda: AUTUMN_2019)
    out = transcript(console, demo.parent, "/aid", "2")
    assert out.splitlines()[7] == "学生资助（国家学生资助政策，按2019年10月8日的政策）："
    first = transcript(console, demo.parent, "初中住校，建档立卡，能领什么补助？")
    assert first.splitlines()[1] == LINXIA_2019_HEADER


def test_the_date_is_the_school_day_in_the_bot_time_zone(app: App) -> None:
    """Just after midnight in Shanghai (still the evening before in UTC) the new date applies."""
    after_midnight = datetime(2024, 8, 31, 17, 0, tzinfo=UTC)
    console = ConsoleChannel(app.session_factory, app.router, clock=lambda: after_midnight)
    out = transcript(console, "guest-22", "初中住校，低保户")
    assert out.splitlines()[1] == "学生资助（国家学生资助政策，按2024年9月1日的政策）："


def _child_names(app: App, parent_id: int) -> list[str]:
    with app.session_factory() as s:
        return [k.name for k in children_of(s, s.get(Person, parent_id))]


def test_principal_of_a_school_in_a_region_without_a_plan_gets_the_national_rules(
    app: App, now: datetime
) -> None:
    with app.session_factory() as s:
        region = Region(code="elsewhere", name="别处", aid_pack=None)
        s.add(region)
        s.flush()
        school = School(region_id=region.id, name="别处中学", stage=Stage.JUNIOR)
        principal = Person(name="别处校长", phone="13900009999", created_at=now)
        s.add_all([school, principal])
        s.flush()
        s.add(
            Membership(
                person_id=principal.id, role=Role.PRINCIPAL, scope_type=ScopeType.SCHOOL, scope_id=school.id
            )
        )
        s.commit()
        principal_id = principal.id
    console = ConsoleChannel(app.session_factory, app.router, clock=lambda: AUTUMN_2019)
    out = transcript(console, principal_id, "初中住校，建档立卡，能领什么补助？")
    assert out.splitlines()[1] == "学生资助（国家学生资助政策，按2019年10月8日的政策）："


def test_household_said_both_ways_is_asked_again(guest_console: ConsoleChannel) -> None:
    """The text "低保户，都不是" takes neither answer: the note, then the household question itself."""
    replies = guest_console.send("guest-40", "初中住校，低保户，都不是")
    assert replies[0].text == "您说的前后不一致，我再问一次。"
    assert replies[1].text.splitlines()[0] == "您家是下面哪种情况？可以选多个，选完点“选好了”。"
