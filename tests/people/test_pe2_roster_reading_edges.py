"""Roster reading and validation at their edges, word for word: a file with only the required columns
(every optional cell reads as empty), household words meaning "none" beside real flags, a BOM before a
header named in an error, a header that merely starts with an X, file types that are refused, workbooks
that are empty, header-only or carry no declared size, a file without a single pupil, and the exact
refusals when the region is not named."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from chatbot.app import App
from chatbot.i18n import use_locale
from chatbot.people.roster import (
    REQUIRED,
    RosterError,
    RosterRow,
    import_file,
    map_headers,
    parse_household,
    read_table,
    resolve_region,
    validate,
)
from db.models import Region
from db.session import transaction


def refusals(call: object) -> list[str]:
    """The RosterError message of `call()` in English, then in Chinese."""
    messages = []
    for locale in ("en", "zh_Hans"):
        with use_locale(locale), pytest.raises(RosterError) as caught:
            call()  # type: ignore[operator]
        messages.append(str(caught.value))
    return messages


def test_only_the_required_columns_leave_every_other_field_empty() -> None:
    with use_locale("en"):
        parsed = validate(list(REQUIRED), [(2, ["红星小学", "3", "1", "S1", "王小明"])])
    assert parsed.errors == []
    assert parsed.rows == [
        RosterRow(2, "红星小学", 3, "1班", "S1", "王小明", "", False, (), "", "", "", "", "")
    ]


def test_none_words_are_skipped_and_the_flags_after_them_still_count() -> None:
    assert [parse_household(v) for v in ("无、低保", "none 孤儿 - 残疾", "/ rich")] == [
        (("dibao",), None),
        (("orphan", "disabled"), None),
        ((), "rich"),
    ]


def test_an_error_names_a_column_without_the_bom_before_its_header() -> None:
    headers = ["\ufeffschool", "grade", "class", "student_no", "student_name"]
    with use_locale("en"):
        errors = [str(e) for e in validate(headers, [(2, ["", "3", "1", "S1", "王小明"])]).errors]
    assert errors == ["row 2: school is empty"]


def test_a_header_starting_with_x_is_unknown() -> None:
    headers = ["Xschool", "grade", "class", "student_no", "student_name"]
    assert refusals(lambda: map_headers(headers)) == ["Unknown column 'Xschool'.", "无法识别的列 'Xschool'。"]


@pytest.mark.parametrize(
    ("name", "english", "chinese"),
    [
        (
            "roster.TXT",
            "Unsupported file type .txt: use .csv or .xlsx.",
            "不支持 .txt 文件：请使用 .csv 或 .xlsx。",
        ),
        ("roster", "Unsupported file type ?: use .csv or .xlsx.", "不支持 ? 文件：请使用 .csv 或 .xlsx。"),
    ],
)
def test_other_file_types_are_refused(name: str, english: str, chinese: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_text("school\n", encoding="utf-8")
    assert refusals(lambda: read_table(path)) == [english, chinese]


def test_an_empty_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    Workbook().save(path)
    assert refusals(lambda: read_table(path)) == ["The file is empty.", "文件是空的。"]


def test_workbook_headers_and_row_estimates(tmp_path: Path) -> None:
    # A header-only workbook declares one row: no pupils expected.
    header_only = tmp_path / "header.xlsx"
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["school", "grade"])
    workbook.save(header_only)
    headers, rows, estimate = read_table(header_only)
    assert (headers, list(rows), estimate) == (["school", "grade"], [], 0)

    # A streamed workbook declares no size at all: the estimate is 0, and an empty header cell is "".
    streamed = tmp_path / "streamed.xlsx"
    writer = Workbook(write_only=True)
    page = writer.create_sheet("roster")
    page.append(["school", None, "grade"])
    page.append(["红星小学", None, 3])
    page.append(["青山中学", "x", 4])
    writer.save(streamed)
    headers, rows, estimate = read_table(streamed)
    assert (headers, list(rows), estimate) == (
        ["school", "", "grade"],
        [(2, ["红星小学", None, 3]), (3, ["青山中学", "x", 4])],
        0,
    )


def test_a_file_without_pupils_is_refused(empty_app: App, tmp_path: Path, now: datetime) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("school,grade,class,student_no,student_name\n,,,,\n", encoding="utf-8")

    def run() -> None:
        with transaction(empty_app.session_factory) as session:
            import_file(session, path, "c1", now, show_progress=False)

    assert refusals(run) == ["The file has no pupils.", "文件里没有学生。"]


def test_the_region_refusals_word_for_word(empty_app: App) -> None:
    with empty_app.session_factory() as session:
        none = refusals(lambda: resolve_region(session, None))
    with transaction(empty_app.session_factory) as session:
        session.add_all(
            [Region(code=c, name=c, timezone="Asia/Shanghai", settings={}) for c in ("a", "b", "c")]
        )
    with empty_app.session_factory() as session:
        several = refusals(lambda: resolve_region(session, None))
    assert none == [
        "There is no region yet: pass --region CODE to create one.",
        "还没有任何地区：请用 --region 代码 创建一个。",
    ]
    assert several == [
        "There are several regions: pass --region CODE to choose one.",
        "有多个地区：请用 --region 代码 选择一个。",
    ]
