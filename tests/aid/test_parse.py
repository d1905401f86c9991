"""The free-text lexicon: synonyms per locale, longest match wins, and what triggers the dialog."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chatbot.aid.parse import lexicon, looks_like_aid_question, parse
from db.models import Stage

S = Stage


@pytest.mark.parametrize(
    ("text", "stages", "boarding", "household", "in_province"),
    [
        ("我家孩子上初中住校，是建档立卡户，能领什么补助？", {S.JUNIOR}, {True}, {"registered_poor"}, set()),
        ("初一，不住校，低保户", {S.JUNIOR}, {False}, {"dibao"}, set()),
        ("七年级走读生", {S.JUNIOR}, {False}, set(), set()),
        ("孩子读大专，在外省", {S.HIGHER_VOCATIONAL}, set(), set(), {False}),
        ("本专科学生，孤儿", {S.UNDERGRADUATE}, set(), {"orphan"}, set()),
        ("在读博士，残疾", {S.POSTGRADUATE}, set(), {"disabled"}, set()),
        ("省内职高，特困供养", {S.SECONDARY_VOCATIONAL}, set(), {"tekun"}, {True}),
        ("國中住校，低保戶", {S.JUNIOR}, {True}, {"dibao"}, set()),
        ("what aid for a university student from a dibao family", {S.UNDERGRADUATE}, set(), {"dibao"}, set()),
        ("a day student in middle school, registered poor", {S.JUNIOR}, {False}, {"registered_poor"}, set()),
        ("vocational college out of province", {S.HIGHER_VOCATIONAL}, set(), set(), {False}),
        ("master's student, orphan", {S.POSTGRADUATE}, set(), {"orphan"}, set()),
    ],
)
def test_facts_are_extracted(
    text: str, stages: set[Stage], boarding: set[bool], household: set[str], in_province: set[bool]
) -> None:
    parsed = parse(text)
    assert (parsed.stages, parsed.boarding, parsed.household, parsed.in_province) == (
        stages,
        boarding,
        household,
        in_province,
    )


def test_none_of_these_and_contradictions() -> None:
    assert parse("都不是，初中").household_none
    assert parse("university student boarding in primary school").contradictions() == ["stage"]
    assert parse("初中住校，不过也走读").contradictions() == ["boarding"]
    assert parse("last year of kindergarten").stages == {S.PRESCHOOL}


@pytest.mark.parametrize(
    ("text", "items", "explain"),
    [
        ("助学贷款怎么申请", ["student_loan"], True),
        ("营养餐是什么", ["nutrition_meal"], True),
        ("how do I apply for the student loan", ["student_loan"], True),
        ("什麼是綠色通道", ["green_channel"], True),
        ("高中助学金能领多少", ["senior_grant"], False),
    ],
)
def test_items_and_explain_cues(text: str, items: list[str], explain: bool) -> None:
    parsed = parse(text)
    assert (parsed.items, parsed.explain) == (items, explain)


@pytest.mark.parametrize(
    ("text", "triggers"),
    [
        ("能领什么补助", True),
        ("what grants are there", True),
        ("小学生住校，低保户", True),
        ("请假", False),
        ("缺 3 7", False),
        ("初三", False),
        ("明天几点放学", False),
        ("", False),
    ],
)
def test_trigger_is_specific(text: str, triggers: bool) -> None:
    assert looks_like_aid_question(text) is triggers


def test_household_status_stated_both_ways_is_a_contradiction() -> None:
    assert parse("低保户，都不是").contradictions() == ["household"]
    assert parse("都不是，初中").contradictions() == []
    assert parse("低保户，初中").contradictions() == []


@pytest.mark.parametrize(
    ("text", "boarding"),
    [
        # The first "住校" stands alone, the second lies inside "不住校": both ways are said.
        ("住校，不住校", {True, False}),
        # Only the middle "住校" stands alone.
        ("不住校，住校，不住校", {False, True}),
        # A word right before a longer one is kept ("住校" ends where "低保户" starts).
        ("住校低保户", {True}),
        # English words match whole words only: "boarding" is not found inside "nonboarding".
        ("nonboarding", set()),
        ("BOARDING", {True}),
    ],
)
def test_every_occurrence_is_found_and_longer_words_win(text: str, boarding: set[bool]) -> None:
    assert parse(text).boarding == boarding


def test_the_longer_of_two_overlapping_words_wins() -> None:
    """ "上幼儿园" and "幼儿园最后一年" overlap: the longer one (the final year) is what was said."""
    parsed = parse("上幼儿园最后一年")
    assert (parsed.preschool_final_year, parsed.stages) == ({True}, {S.PRESCHOOL})


def test_several_items_named_in_one_message() -> None:
    assert parse("助学贷款和营养餐").items == ["student_loan", "nutrition_meal"]


@pytest.mark.parametrize(
    ("section", "entries", "message"),
    [
        ("stage", {"nursery": ["托班"]}, "stage: unknown value 'nursery'"),
        ("household", {"rich": ["富裕"]}, "household: unknown value 'rich'"),
        ("boarding", {"sometimes": ["有时住校"]}, "boarding: unknown value 'sometimes'"),
        ("in_province", {"abroad": ["国外"]}, "in_province: unknown value 'abroad'"),
        ("preschool_final_year", {"maybe": ["也许"]}, "preschool_final_year: unknown value 'maybe'"),
        ("colour", {"red": ["红"]}, "unknown section 'colour'"),
    ],
)
def test_a_bad_lexicon_names_file_locale_and_value(
    tmp_path: Path, section: str, entries: dict[str, list[str]], message: str
) -> None:
    path = tmp_path / "lexicon.yaml"
    path.write_text(yaml.safe_dump({"zh_Hans": {section: entries}}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError) as raised:
        lexicon(path)
    assert str(raised.value) == f"{path}: zh_Hans: {message}"


def test_a_lexicon_with_known_values_loads(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.yaml"
    words = {
        "stage": {"junior": ["初中"]},
        "household": {"none": ["都不是"]},
        "boarding": {"true": ["住校"]},
        "in_province": {"false": ["外省"]},
        "preschool_final_year": {"true": ["大班"]},
    }
    path.write_text(yaml.safe_dump({"zh_Hans": words}, allow_unicode=True), encoding="utf-8")
    assert lexicon(path).facts == {
        "初中": (("stage", "junior"),),
        "都不是": (("household", "none"),),
        "住校": (("boarding", "true"),),
        "外省": (("in_province", "false"),),
        "大班": (("preschool_final_year", "true"),),
    }


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("孩子初一年级，住校，低保户", Stage.JUNIOR),
        ("初三年级", Stage.JUNIOR),
        ("高一年级的学生", Stage.SENIOR),
        ("國中一年級", Stage.JUNIOR),
        ("初一年級", Stage.JUNIOR),
        ("一年级", Stage.PRIMARY),
        ("小学三年级", Stage.PRIMARY),
    ],
)
def test_a_grade_name_holding_a_primary_grade_is_read_as_its_own_stage(text: str, stage: Stage) -> None:
    """初一年级 contains 一年级: the junior grade, not primary school, and the right allowance."""
    assert parse(text).stages == {stage}
