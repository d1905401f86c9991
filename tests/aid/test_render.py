"""Results in words: the summary, the terminal table, an item's details, the 'why' lines, the JSON
shape, in one locale each (zh_Hans unless the case is about English), from the shipped packs or a
small pack written for the case (pure: no database)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from chatbot.aid.engine import Profile, Status, evaluate, evaluate_item
from chatbot.aid.pack import load_pack
from chatbot.aid.render import (
    details,
    explain_item,
    how_to_apply,
    reason_text,
    result_json,
    summary,
    summary_header,
    table,
    why_lines,
)
from chatbot.i18n import use_locale
from db.models import Stage
from tests.aid.test_packs import APPLY, GOOD_ITEM, with_changes, write_pack

D = date.fromisoformat
S = Stage
RP = frozenset({"registered_poor"})
DIBAO = frozenset({"dibao"})
NONE: frozenset[str] = frozenset()
HOUSEHOLD_CHECK = "家庭是否被认定为：建档立卡贫困户、低保户、特困供养、孤儿、残疾"


def zh_summary(pack_id: str, on: str, profile: Profile) -> str:
    pack = load_pack(pack_id)
    with use_locale("zh_Hans"):
        return summary(evaluate(profile, pack, D(on)), pack, D(on))


# (pack, date, profile, the whole summary)
SUMMARIES = [
    pytest.param(
        "national", "2024-09-01", Profile(stage=S.JUNIOR, household=RP),
        "学生资助（国家学生资助政策，按2024年9月1日的政策）：\n"
        "可以领：\n"
        "• 义务教育免学杂费和免费教科书：全免\n"
        "可能可以领（请向学校确认）：\n"
        "• 家庭经济困难寄宿生生活补助：每年1,500元\n"
        "  请确认：孩子是否住校\n"
        "• 家庭经济困难非寄宿生生活补助：每年750元\n"
        "  请确认：孩子是否走读（不住校）\n"
        "• 农村义务教育学生营养改善计划（营养餐）：每个上学日5元（以饭菜等实物提供）\n"
        "  请确认：学校是否在营养改善计划的实施地区",
        id="boarding-unknown-is-checked-per-item",
    ),
    pytest.param(
        "national", "2024-09-01", Profile(stage=S.SENIOR),
        "学生资助（国家学生资助政策，按2024年9月1日的政策）：\n"
        "可能可以领（请向学校确认）：\n"
        "• 普通高中国家助学金：平均每年2,000元（最高3,000元）\n"
        "• 普通高中免学杂费：全免\n"
        f"以上各项都请确认：{HOUSEHOLD_CHECK}",
        id="household-unknown-for-all-is-asked-once-with-every-flag-wanted",
    ),
    pytest.param(
        "national", "2024-09-01", Profile(stage=S.SECONDARY_VOCATIONAL),
        "学生资助（国家学生资助政策，按2024年9月1日的政策）：\n"
        "可能可以领（请向学校确认）：\n"
        "• 中职免学费：全免\n"
        "• 中职国家助学金：每年2,000元\n"
        "  请确认：学生是否在一、二年级\n"
        f"以上各项都请确认：{HOUSEHOLD_CHECK}",
        id="shared-household-check-keeps-the-other-checks",
    ),
    pytest.param(
        "linxia-2019", "2019-10-01", Profile(stage=S.PRESCHOOL),
        "学生资助（临夏州2019年精准扶贫学生资助，按2019年10月1日的政策）：\n"
        "可能可以领（请向学校确认）：\n"
        "• 学前一年幼儿生活费资助：每年600元\n"
        "  请确认：是否是幼儿园最后一年；家庭是否被认定为：建档立卡贫困户",
        id="one-possible-item-keeps-its-own-household-check",
    ),
    pytest.param(
        "linxia-2019", "2019-10-01", Profile(stage=S.SECONDARY_VOCATIONAL, household=RP),
        "学生资助（临夏州2019年精准扶贫学生资助，按2019年10月1日的政策）：\n"
        "可能可以领（请向学校确认）：\n"
        "• 中职免学费资助：每年2,000元\n"
        "  请确认：学校是否在本省\n"
        "• 中职国家助学金：每年2,000元\n"
        "  请确认：学校是否在本省",
        id="other-unknown-facts-are-not-the-shared-household-check",
    ),
    pytest.param(
        "national", "2024-09-01", Profile(stage=S.SENIOR, household=DIBAO),
        "学生资助（国家学生资助政策，按2024年9月1日的政策）：\n"
        "可以领：\n"
        "• 普通高中国家助学金：平均每年2,000元（最高3,000元）\n"
        "• 普通高中免学杂费：全免",
        id="only-eligible-items",
    ),
    pytest.param(
        "linxia-2019", "2019-10-01",
        Profile(stage=S.SECONDARY_VOCATIONAL, household=RP, in_province=False),
        "学生资助（临夏州2019年精准扶贫学生资助，按2019年10月1日的政策）：\n"
        "这里没有符合的项目。学校资助办可以帮您查其他帮扶。",
        id="nothing-matches",
    ),
    pytest.param(
        "national", "2024-09-01", Profile(stage=S.UNDERGRADUATE),
        "学生资助（国家学生资助政策，按2024年9月1日的政策）：\n"
        "可能可以领（请向学校确认）：\n"
        "• 本专科生国家助学金：平均每年3,700元（最高5,000元）\n"
        f"  请确认：{HOUSEHOLD_CHECK}\n"
        "• 国家励志奖学金：每年6,000元\n"
        f"  请确认：{HOUSEHOLD_CHECK}；学生是否二年级及以上、成绩优秀\n"
        "• 国家奖学金（本专科）：每年10,000元\n"
        "  请确认：学生是否二年级及以上、成绩特别优秀\n"
        "• 国家助学贷款（生源地/校园地）：每年最多20,000元\n"
        f"  请确认：{HOUSEHOLD_CHECK}\n"
        "• 新生入学\"绿色通道\"：提供帮助，不发钱\n"
        f"  请确认：{HOUSEHOLD_CHECK}；学生是否是刚入学的新生",
        id="an-item-without-household-condition-keeps-checks-per-item",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("pack_id", "on", "profile", "expected"), SUMMARIES)
def test_summary_text(pack_id: str, on: str, profile: Profile, expected: str) -> None:
    assert zh_summary(pack_id, on, profile) == expected


def test_summary_with_the_stage_unknown_says_which_amounts_are_open() -> None:
    text = zh_summary("national", "2024-09-01", Profile()).splitlines()
    assert text[:5] == [
        "学生资助（国家学生资助政策，按2024年9月1日的政策）：",
        "可能可以领（请向学校确认）：",
        "• 义务教育免学杂费和免费教科书：全免",
        "  请确认：孩子在哪个学段：小学、初中",
        "• 家庭经济困难寄宿生生活补助：金额待确认",
    ]
    assert "• 农村义务教育学生营养改善计划（营养餐）：提供帮助，不发钱" in text
    assert "• 国家助学贷款（生源地/校园地）：额度由贷款方确定" in text


def test_summary_header_spells_the_date_out_in_english() -> None:
    with use_locale("en"):
        assert (
            summary_header(load_pack("national"), D("2024-09-01"))
            == "Student aid (National student aid, on September 1, 2024):"
        )


def test_table_pads_wide_characters_and_footnotes_the_checks() -> None:
    pack = load_pack("national")
    profile = Profile(stage=S.JUNIOR, household=RP)
    with use_locale("zh_Hans"):
        text = table(evaluate(profile, pack, D("2024-09-01"))[:6])
    assert text.splitlines() == [
        "结果      项目                                    金额                               政策包",
        "--------  --------------------------------------  ---------------------------------  --------",
        "可以领    义务教育免学杂费和免费教科书            全免                               national",
        "可能可以  家庭经济困难寄宿生生活补助              每年1,500元                        national",
        "可能可以  家庭经济困难非寄宿生生活补助            每年750元                          national",
        "可能可以  农村义务教育学生营养改善计划（营养餐）  每个上学日5元（以饭菜等实物提供）  national",
        "不符合    学前一年免保育教育费                    只适用于：幼儿园                   national",
        "不符合    普通高中国家助学金                      只适用于：普通高中                 national",
        "* 家庭经济困难寄宿生生活补助：请确认孩子是否住校",
        "* 家庭经济困难非寄宿生生活补助：请确认孩子是否走读（不住校）",
        "* 农村义务教育学生营养改善计划（营养餐）：请确认学校是否在营养改善计划的实施地区",
    ]


def test_table_in_english() -> None:
    pack = load_pack("linxia-2019")
    profile = Profile(stage=S.SECONDARY_VOCATIONAL, household=RP, in_province=True)
    with use_locale("en"):
        text = table([r for r in evaluate(profile, pack, D("2019-10-01")) if r.status == Status.ELIGIBLE])
    assert text.splitlines() == [
        "Eligibility  Item                                              Amount         Source pack",
        "-----------  ------------------------------------------------  -------------  -----------",
        "eligible     Free tuition at secondary vocational school       ¥2,000 a year  linxia-2019",
        "eligible     National grant for secondary vocational students  ¥2,000 a year  linxia-2019",
    ]


def test_table_footnote_joins_every_check_of_an_item() -> None:
    pack = load_pack("national")
    with use_locale("zh_Hans"):
        text = table(evaluate(Profile(stage=S.JUNIOR), pack, D("2024-09-01"))[1:2])
    assert text.splitlines()[-1] == (f"* 家庭经济困难寄宿生生活补助：请确认孩子是否住校；{HOUSEHOLD_CHECK}")


def test_table_rows_from_packs_with_names_of_different_lengths_end_without_spaces(tmp_path: Path) -> None:
    write_pack(tmp_path, "base", [GOOD_ITEM])
    write_pack(tmp_path, "county", [with_changes(id="bus")], parent="base")
    pack = load_pack("county", tmp_path)
    with use_locale("en"):
        lines = table(evaluate(Profile(stage=S.PRIMARY, household=DIBAO), pack, D("2024-09-01"))).splitlines()
    assert lines == [
        "Eligibility  Item      Amount       Source pack",
        "-----------  --------  -----------  -----------",
        "eligible     Meal aid  ¥150 a year  base",
        "eligible     Meal aid  ¥150 a year  county",
    ]


# (pack, item, date, profile, status, the 'why' lines)
WHY = [
    ("national", "boarding_allowance", "2011-08-31", Profile(stage=S.PRIMARY, household=RP, boarding=True),
     "not_eligible", ["当天还没开始实施（2011年9月1日起）"]),
    ("national", "nonboarding_allowance", "2024-09-01", Profile(stage=S.JUNIOR, household=NONE, boarding=False),
     "not_eligible", ["只适用于被认定为以下情况的家庭：建档立卡贫困户、低保户、特困供养、残疾"]),
    ("national", "boarding_allowance", "2024-09-01", Profile(stage=S.JUNIOR, household=RP, boarding=False),
     "not_eligible", ["只适用于住校生"]),
    ("national", "nonboarding_allowance", "2024-09-01", Profile(stage=S.JUNIOR, household=RP, boarding=True),
     "not_eligible", ["只适用于不住校的学生"]),
    ("linxia-2019", "sec_voc_grant", "2019-10-01",
     Profile(stage=S.SECONDARY_VOCATIONAL, household=RP, in_province=False),
     "not_eligible", ["只适用于在本省学校就读的学生"]),
    ("national", "preschool_final_year_free", "2025-09-01",
     Profile(stage=S.PRESCHOOL, household=NONE, preschool_final_year=False),
     "not_eligible", ["只适用于幼儿园最后一年"]),
    ("national", "free_tuition_textbooks", "2024-09-01", Profile(stage=S.SENIOR),
     "not_eligible", ["只适用于：小学、初中"]),
    ("national", "boarding_allowance", "2024-09-01", Profile(stage=S.JUNIOR, household=RP, boarding=True),
     "eligible", ["学段：初中", "住校", "家庭情况：建档立卡贫困户"]),
    ("national", "nonboarding_allowance", "2024-09-01", Profile(stage=S.JUNIOR, household=DIBAO, boarding=False),
     "eligible", ["学段：初中", "不住校", "家庭情况：低保户"]),
    ("linxia-2019", "sec_voc_grant", "2019-10-01",
     Profile(stage=S.SECONDARY_VOCATIONAL, household=RP, in_province=True),
     "eligible", ["学段：中职（中专、职高、技校）", "在本省上学", "家庭情况：建档立卡贫困户"]),
    ("national", "preschool_final_year_free", "2025-09-01",
     Profile(stage=S.PRESCHOOL, household=NONE, preschool_final_year=True),
     "eligible", ["学段：幼儿园", "幼儿园最后一年"]),
    ("national", "boarding_allowance", "2024-09-01", Profile(),
     "possible", ["需确认：孩子在哪个学段：小学、初中", "需确认：孩子是否住校", f"需确认：{HOUSEHOLD_CHECK}"]),
    ("national", "preschool_final_year_free", "2025-09-01", Profile(stage=S.PRESCHOOL),
     "possible", ["学段：幼儿园", "需确认：是否是幼儿园最后一年"]),
    ("linxia-2019", "sec_voc_grant", "2019-10-01", Profile(stage=S.SECONDARY_VOCATIONAL, household=RP),
     "possible", ["学段：中职（中专、职高、技校）", "家庭情况：建档立卡贫困户", "需确认：学校是否在本省"]),
    ("national", "nonboarding_allowance", "2024-09-01", Profile(stage=S.JUNIOR, household=RP),
     "possible", ["学段：初中", "家庭情况：建档立卡贫困户", "需确认：孩子是否走读（不住校）"]),
    # The pack's own wording: `otherwise` (rural or farming students) and `confirm` (pilot area).
    ("national", "sec_voc_free_tuition", "2024-09-01", Profile(stage=S.SECONDARY_VOCATIONAL, household=NONE),
     "possible", ["学段：中职（中专、职高、技校）", "需确认：农村户籍或学涉农专业的学生也免学费"]),
    ("national", "nutrition_meal", "2024-09-01", Profile(stage=S.PRIMARY),
     "possible", ["学段：小学", "需确认：学校是否在营养改善计划的实施地区"]),
]  # fmt: skip


@pytest.mark.parametrize(("pack_id", "item", "on", "profile", "status", "lines"), WHY)
def test_why_lines_for_each_kind_of_condition(
    pack_id: str, item: str, on: str, profile: Profile, status: str, lines: list[str]
) -> None:
    entry = load_pack(pack_id).item(item)
    assert entry is not None
    result = evaluate_item(profile, entry, D(on))
    with use_locale("zh_Hans"):
        assert (result.status.value, why_lines(result)) == (status, lines)


def test_details_of_an_eligible_item_with_an_amount_note() -> None:
    entry = load_pack("national").item("senior_grant")
    assert entry is not None
    result = evaluate_item(Profile(stage=S.SENIOR, household=DIBAO), entry, D("2024-09-01"))
    with use_locale("zh_Hans"):
        text = details(result)
    assert text == (
        "【普通高中国家助学金】\n"
        "上普通高中、家庭经济困难的学生，每年可以领国家助学金。学校按困难程度分档，表中是平均标准。\n"
        "类型：助学金\n"
        "金额：平均每年2,000元（最高3,000元）\n"
        "  平均标准，按档发放\n"
        "结果：可以领\n"
        "  · 学段：普通高中\n"
        "  · 家庭情况：低保户\n"
        "怎么申请：\n"
        "  1. 秋季开学时学校发通知。\n"
        "  2. 家长填写《家庭经济困难学生认定申请表》，交给班主任。\n"
        "  3. 学校评议小组审核，并公示名单。\n"
        "  4. 公示无异议后发放，一般按学期发。\n"
        "材料：家庭经济困难学生认定申请表、建档立卡、低保、特困或残疾等证明（如有）\n"
        "地点：孩子就读学校的资助办（先找班主任）\n"
        "时间：每年秋季开学时（9月）\n"
        "依据：普通高中国家助学金标准调整（公开报道），平均资助标准由每生每年2000元提高到2300元"
        "（2025年春季学期起），最高3500元（2024）"
    )


def test_details_of_an_item_that_does_not_apply_have_no_amount() -> None:
    entry = load_pack("national").item("boarding_allowance")
    assert entry is not None
    result = evaluate_item(Profile(stage=S.JUNIOR, household=NONE, boarding=True), entry, D("2024-09-01"))
    with use_locale("zh_Hans"):
        lines = details(result).splitlines()
    assert lines[2:5] == [
        "类型：补助",
        "结果：不符合",
        "  · 只适用于被认定为以下情况的家庭：建档立卡贫困户、低保户、特困供养、孤儿、残疾",
    ]


def test_explain_item_with_documents() -> None:
    entry = load_pack("national").item("student_loan")
    assert entry is not None
    with use_locale("zh_Hans"):
        text = explain_item(entry)
    assert text == (
        "【国家助学贷款（生源地/校园地）】\n"
        "家庭经济困难的大学生可以申请国家助学贷款，用来交学费和住宿费。在校期间免利息，毕业后再还。"
        "生源地贷款在家乡所在县办理。\n"
        "适用：高职（大专）、大学本科、研究生\n"
        "怎么申请：\n"
        "  1. 拿到录取通知书后，到户籍所在县的学生资助管理中心申请生源地信用助学贷款（也可在高校申请校园地贷款）。\n"
        "  2. 学生和家长一起签合同。\n"
        "  3. 入学后把回执交给学校，贷款直接付学费和住宿费。\n"
        "材料：录取通知书或学生证、学生和家长的身份证、户口本\n"
        "地点：县级学生资助管理中心（生源地贷款）或高校资助中心（校园地贷款）\n"
        "时间：每年暑假，开学前（7—9月）\n"
        "依据：关于调整完善国家助学贷款有关政策的通知（gov.cn, 2021）; 2023 and 2024 reports，"
        "本专科生每人每年不超过20000元，研究生不超过25000元（2024年秋季学期起）（2024）"
    )


def test_explain_item_without_documents_has_no_documents_line() -> None:
    entry = load_pack("national").item("nutrition_meal")
    assert entry is not None
    with use_locale("zh_Hans"):
        lines = explain_item(entry).splitlines()
    assert lines[2:] == [
        "适用：小学、初中",
        "怎么申请：",
        "  1. 不用申请，学校为每个符合条件的学生直接落实。",
        "  2. 如果没有享受到，请问班主任或学校资助办。",
        "地点：孩子就读的学校",
        "时间：每学期开学时",
        "依据：财政部 教育部 关于深入实施农村义务教育学生营养改善计划的通知，"
        "自2021年秋季学期起农村义务教育学生膳食补助标准由每生每天4元提高至5元（2021）",
    ]


def test_result_json_of_an_item_with_url_and_note() -> None:
    entry = load_pack("national").item("nutrition_meal")
    assert entry is not None
    result = evaluate_item(Profile(stage=S.PRIMARY), entry, D("2024-09-01"))
    with use_locale("zh_Hans"):
        data = result_json(result)
    assert data["why"] == ["学段：小学", "需确认：学校是否在营养改善计划的实施地区"]
    assert type(data["amount_yuan"]) is int and data["amount_yuan"] == 5
    assert data["max_amount_yuan"] is None
    assert data["source"] == {
        "document": "财政部 教育部 关于深入实施农村义务教育学生营养改善计划的通知",
        "section": "自2021年秋季学期起农村义务教育学生膳食补助标准由每生每天4元提高至5元",
        "date": "2021",
        "url": "https://www.163.com/dy/article/GLPRH99O053469RG.html",
        "note": "Cross-checked with 2021 press reports (证券时报, 经济日报): the programme started in autumn "
        "2011 at 3 yuan a day (china.com.cn 2012); 4 yuan from November 2014 per public reports (not "
        "cross-checked offline). National pilot areas are the former contiguous poor-area counties; local "
        "pilot areas are paid by the province.",
    }


def test_result_json_source_without_url_or_note_has_only_the_three_keys() -> None:
    entry = load_pack("linxia-2019").item("sec_voc_grant")
    assert entry is not None
    result = evaluate_item(Profile(stage=S.SECONDARY_VOCATIONAL), entry, D("2019-10-01"))
    assert set(result_json(result)["source"]) == {"document", "section", "date"}


# --- a small pack written for the case: what the shipped packs do not contain ----------------------


def test_an_item_for_pupils_studying_out_of_province(tmp_path: Path) -> None:
    item = with_changes(conditions={"in_province": False})
    write_pack(tmp_path, "county", [item])
    entry = load_pack("county", tmp_path).item("meal")
    assert entry is not None
    with use_locale("zh_Hans"):
        met = evaluate_item(Profile(stage=S.PRIMARY, in_province=False), entry, D("2024-09-01"))
        assert why_lines(met) == ["学段：小学", "在外省上学"]
        unknown = evaluate_item(Profile(stage=S.PRIMARY), entry, D("2024-09-01"))
        assert why_lines(unknown) == ["学段：小学", "需确认：学校是否在本省"]


def test_an_item_whose_values_end(tmp_path: Path) -> None:
    """A null value ends the item: before the first start it has not started, after the null it ended."""
    amount = {"type": "fixed", "period": "year", "values": {D("2020-09-01"): 100, D("2023-09-01"): None}}
    write_pack(tmp_path, "county", [with_changes(conditions={}, amount=amount)])
    entry = load_pack("county", tmp_path).item("meal")
    assert entry is not None
    profile = Profile(stage=S.PRIMARY)
    with use_locale("zh_Hans"):
        reasons = {
            on: reason_text(evaluate_item(profile, entry, D(on))) for on in ("2020-08-31", "2023-09-01")
        }
        running = evaluate_item(profile, entry, D("2023-08-31"))
    assert reasons == {
        "2020-08-31": "当天还没开始实施（2020年9月1日起）",
        "2023-09-01": "当天已不再实施（2023年9月1日停止）",
    }
    assert (running.status, running.amount) == (Status.ELIGIBLE, 100)


def test_fractional_amounts_stay_fractional_in_json(tmp_path: Path) -> None:
    amount = {"type": "fixed", "period": "day", "values": {D("2020-09-01"): 4.5}, "max": {D("2020-09-01"): 6}}
    write_pack(tmp_path, "county", [with_changes(conditions={}, amount=amount)])
    entry = load_pack("county", tmp_path).item("meal")
    assert entry is not None
    data = result_json(evaluate_item(Profile(stage=S.PRIMARY), entry, D("2024-09-01")))
    assert (data["amount_yuan"], data["max_amount_yuan"]) == (4.5, 6)
    assert type(data["max_amount_yuan"]) is int


def test_how_to_apply_falls_back_to_simplified_chinese(tmp_path: Path) -> None:
    """A template written only in zh_Hans is shown in zh_Hans to every reader."""
    only_zh = {"office": {"zh_Hans": APPLY["school"]["zh_Hans"] | {"where": "办公室"}}}
    write_pack(tmp_path, "county", [with_changes(how_to_apply="office")], apply=only_zh)
    entry = load_pack("county", tmp_path).item("meal")
    assert entry is not None
    with use_locale("en"):
        assert how_to_apply(entry) == {
            "steps": ["Ask the school."],
            "documents": [],
            "where": "办公室",
            "when": "September",
        }


def test_an_item_that_applies_has_no_reason() -> None:
    entry = load_pack("national").item("free_tuition_textbooks")
    assert entry is not None
    with use_locale("zh_Hans"):
        assert reason_text(evaluate_item(Profile(stage=S.PRIMARY), entry, D("2024-09-01"))) == ""
