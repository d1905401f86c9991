"""The free-text lexicon: synonyms per locale, longest match wins, and what triggers the dialog."""

from __future__ import annotations

import pytest

from chatbot.aid.parse import looks_like_aid_question, parse
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
