"""Property tests of roster validation: valid rows come back normalized, one corrupted cell is one error."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from chatbot.people.roster import COLUMNS, HOUSEHOLD_SYNONYMS, decode_bytes, validate

HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
names = st.text(HAN, min_size=2, max_size=4)
mobiles = st.integers(3, 9).flatmap(
    lambda second: st.integers(0, 10**9 - 1).map(lambda n: f"1{second}{n:09d}")
)
flag_words = st.lists(st.sampled_from(sorted(HOUSEHOLD_SYNONYMS)), max_size=3)
separators = st.sampled_from([",", "，", "、", " ", ";"])


@st.composite
def roster_row(draw: st.DrawFn) -> dict[str, str]:
    grade = draw(st.integers(1, 12))
    guardian = draw(st.booleans())
    teacher = draw(st.booleans())
    return {
        "school": draw(names) + "学校",
        "grade": draw(st.sampled_from([str(grade), f"{grade}年级"])),
        "class": f"{draw(st.integers(1, 12))}班",
        "student_no": str(draw(st.integers(1, 10**8))),
        "student_name": draw(names),
        "gender": draw(st.sampled_from(["男", "女", "M", "f", ""])),
        "boarding": draw(st.sampled_from(["是", "否", "yes", "0", ""])),
        "household": draw(separators).join(draw(flag_words)),
        "guardian_name": draw(names) if guardian else "",
        "guardian_phone": draw(mobiles) if guardian else "",
        "guardian_relation": draw(st.sampled_from(["父亲", "母亲", ""])) if guardian else "",
        "class_teacher_name": draw(names) if teacher else "",
        "class_teacher_phone": draw(mobiles) if teacher else "",
    }


def parse(row: dict[str, str]):  # type: ignore[no-untyped-def]
    return validate(list(COLUMNS), [(2, [row[c] for c in COLUMNS])])


@settings(max_examples=100, deadline=None)
@given(roster_row())
def test_valid_rows_are_accepted_and_normalized(row: dict[str, str]) -> None:
    parsed = parse(row)
    assert parsed.errors == []
    [result] = parsed.rows
    assert 1 <= result.grade <= 12 and result.klass.endswith("班")
    assert result.gender in {"男", "女", ""}
    assert set(result.household) <= {"registered_poor", "dibao", "tekun", "orphan", "disabled"}
    assert len(result.household) == len(set(result.household))
    assert result.guardian_phone == row["guardian_phone"]


CORRUPTIONS = {
    "grade": "13",
    "gender": "?",
    "boarding": "maybe",
    "household": "富裕",
    "guardian_phone": "12345",
    "student_no": "",
    "student_name": "",
}


@settings(max_examples=100, deadline=None)
@given(roster_row(), st.sampled_from(sorted(CORRUPTIONS)))
def test_one_corrupted_cell_is_exactly_one_error_on_that_row(row: dict[str, str], column: str) -> None:
    row = {**row, column: CORRUPTIONS[column]}
    if column == "guardian_phone":
        row["guardian_name"] = row["guardian_name"] or "张三"
    parsed = parse(row)
    assert parsed.rows == []
    assert [e.line for e in parsed.errors] == [2]


@settings(max_examples=100, deadline=None)
@given(st.lists(roster_row(), min_size=1, max_size=5), st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_any_encoding_decodes_to_the_same_text(rows: list[dict[str, str]], encoding: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows([row[c] for c in COLUMNS] for row in rows)
    assert decode_bytes(buffer.getvalue().encode(encoding)) == buffer.getvalue()
