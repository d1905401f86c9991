"""The roster template a school fills in and `bot.py import-roster`'s report, exactly: the template's
bytes as CSV (UTF-8 with a BOM, so Excel reads the Chinese), its workbook with the 学号 and phone
columns formatted as text for the rows a school fills and no further, its refusal of other file types;
the import summary in Chinese and English; and the import command's output, timing line, progress bar
and its refusals (a file it cannot read, bad rows listed one by one) with nothing imported."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from chatbot.app import App
from chatbot.i18n import use_locale
from chatbot.people.roster import ImportCounts, RosterError, summary, write_template
from db.models import Person, Region, Student
from tests.people.cli_run import InProcessCli, Result

CHINESE = "学校,年级,班级,学号,学生姓名,性别,是否住校,家庭情况,监护人姓名,监护人电话,与学生关系,班主任姓名,班主任电话"
ENGLISH = (
    "school,grade,class,student_no,student_name,gender,boarding,household,"
    "guardian_name,guardian_phone,guardian_relation,class_teacher_name,class_teacher_phone"
)
EXAMPLE = "示例（此行不会导入）红旗小学,3,1班,0301001,马小花,女,是,建档立卡、低保,马大山,13800001111,父亲,李老师,13900002222"


# --- the template ---------------------------------------------------------------------------------


def test_the_csv_template_bytes(tmp_path: Path) -> None:
    write_template(tmp_path / "zh.csv")
    assert (tmp_path / "zh.csv").read_bytes() == ("\ufeff" + CHINESE + "\r\n" + EXAMPLE + "\r\n").encode()
    write_template(tmp_path / "en.CSV", english=True)
    assert (tmp_path / "en.CSV").read_bytes() == ("\ufeff" + ENGLISH + "\r\n" + EXAMPLE + "\r\n").encode()


def _workbook(path: Path) -> tuple[list[str], list[list[object]], dict[str, set[str]], int]:
    workbook = load_workbook(path)
    try:
        sheet = workbook.worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(min_row=1, max_row=3, values_only=True)]
        formats: dict[str, set[str]] = {}
        for column in "ABCDEFGHIJKLMN":
            formats[column] = {sheet[f"{column}{row}"].number_format for row in (1, 2, 3, 1000, 2000)}
        last = sheet.max_row
        formats["after"] = {sheet[f"{column}2001"].number_format for column in "ABCDEFGHIJKLMN"}
        return workbook.sheetnames, rows, formats, last
    finally:
        workbook.close()


TEXT = {"@"}
GENERAL = {"General"}


@pytest.mark.parametrize(("english", "headers"), [(None, CHINESE), (False, CHINESE), (True, ENGLISH)])
def test_the_workbook_template(english: bool | None, headers: str, tmp_path: Path) -> None:
    path = tmp_path / "r.XLSX"
    if english is None:
        write_template(path)  # Chinese unless asked
    else:
        write_template(path, english=english)
    names, rows, formats, last = _workbook(path)
    assert names == ["Sheet"]
    assert rows[:2] == [headers.split(","), EXAMPLE.split(",")]
    assert rows[2] == [None] * 13
    # 学号 (D), 监护人电话 (J) and 班主任电话 (M) are text from the header down to row 2000, no further.
    assert formats == {
        "A": GENERAL, "B": GENERAL, "C": GENERAL, "D": TEXT, "E": GENERAL, "F": GENERAL, "G": GENERAL,
        "H": GENERAL, "I": GENERAL, "J": TEXT, "K": GENERAL, "L": GENERAL, "M": TEXT, "N": GENERAL,
        "after": GENERAL,
    }  # fmt: skip
    assert last == 2000


@pytest.mark.parametrize(
    ("name", "zh", "en"),
    [
        (
            "r.txt",
            "不支持 .txt 文件：请使用 .csv 或 .xlsx。",
            "Unsupported file type .txt: use .csv or .xlsx.",
        ),
        (
            "r.xls",
            "不支持 .xls 文件：请使用 .csv 或 .xlsx。",
            "Unsupported file type .xls: use .csv or .xlsx.",
        ),
        ("roster", "不支持 ? 文件：请使用 .csv 或 .xlsx。", "Unsupported file type ?: use .csv or .xlsx."),
    ],
)
def test_the_template_refuses_other_file_types(name: str, zh: str, en: str, tmp_path: Path) -> None:
    for locale, message in (("zh_Hans", zh), ("en", en)):
        with use_locale(locale), pytest.raises(RosterError) as refused:
            write_template(tmp_path / name)
        assert str(refused.value) == message
    assert list(tmp_path.iterdir()) == []


# --- the summary ----------------------------------------------------------------------------------

COUNTS = ImportCounts(
    schools_created=1,
    classes_created=2,
    students_created=3,
    students_updated=4,
    students_unchanged=5,
    people_created=6,
    people_updated=7,
    guardian_links_added=8,
    guardian_links_removed=9,
    teacher_changes=10,
    rows=11,
)


def test_the_summary_names_every_count_in_its_place() -> None:
    with use_locale("zh_Hans"):
        assert summary(COUNTS) == (
            "共 11 行：新增学生 3 名，更新 4 名，未变 5 名；新增学校 1 所、班级 2 个；新增人员 6 人，更新 7 人；"
            "新增监护关系 8 条，删除 9 条；班主任变动 10 处。"
        )
    with use_locale("en"):
        assert summary(COUNTS) == (
            "11 rows: 3 pupils added, 4 updated, 5 unchanged; 1 schools and 2 classes added; "
            "6 people added, 7 updated; 8 guardian links added, 9 removed; 10 class-teacher changes."
        )


# --- import-roster --------------------------------------------------------------------------------


class Cli(InProcessCli):
    """The people CLI whose stopwatch reads 1.5 s unless a test says otherwise."""

    def __call__(self, url: str, *argv: str, locale: str = "zh_Hans", seconds: float | None = 1.5) -> Result:
        return super().__call__(url, *argv, locale=locale, seconds=seconds)


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, now: datetime
) -> Cli:
    return Cli(monkeypatch, capsys, tmp_path, now)


def _write(path: Path, *lines: str) -> None:
    path.write_text("\n".join([ENGLISH, *lines]) + "\n", encoding="utf-8")


ROWS = (
    "向阳小学,3,1班,0301,马小花,女,是,低保,马大山,13800001111,父亲,李老师,13900002222",
    "向阳小学,3,1班,0302,马小草,男,否,,马二山,13800001112,母亲,李老师,13900002222",
)


def _counts(app: App) -> tuple[int, int, int]:
    with app.session_factory() as s:
        return (
            s.scalar(select(func.count()).select_from(Region)) or 0,
            s.scalar(select(func.count()).select_from(Student)) or 0,
            s.scalar(select(func.count()).select_from(Person)) or 0,
        )


def test_an_import_reports_what_it_did_and_how_long_it_took(cli: Cli, empty_app: App, tmp_path: Path) -> None:
    _write(tmp_path / "r.csv", *ROWS)
    url = empty_app.settings.database_url
    assert cli(url, "import-roster", "r.csv", "--region", "c1", "--no-progress") == Result(
        0,
        "共 2 行：新增学生 2 名，更新 0 名，未变 0 名；新增学校 1 所、班级 1 个；新增人员 3 人，更新 0 人；"
        "新增监护关系 2 条，删除 0 条；班主任变动 1 处。\n"
        "用时 1.5 秒。\n",
        "",
    )
    assert cli(url, "import-roster", "r.csv", "--no-progress", locale="en", seconds=12.25) == Result(
        0,
        "2 rows: 0 pupils added, 0 updated, 2 unchanged; 0 schools and 0 classes added; "
        "0 people added, 0 updated; 0 guardian links added, 0 removed; 0 class-teacher changes.\n"
        "Done in 12.2 s.\n",
        "",
    )
    assert _counts(empty_app) == (1, 2, 3)


def test_progress_asked_for_is_shown_on_stderr_even_for_a_small_file(
    cli: Cli, empty_app: App, tmp_path: Path
) -> None:
    _write(tmp_path / "r.csv", *ROWS)
    url = empty_app.settings.database_url
    result = cli(url, "import-roster", "r.csv", "--region", "c1", "--progress")
    assert result.code == 0 and result.out.endswith("用时 1.5 秒。\n")
    assert "检查: 100%" in result.err and "导入: 100%" in result.err and "2/2" in result.err
    # Left to itself, a small file into a pipe gets no bar.
    assert cli(url, "import-roster", "r.csv").err == ""


def test_a_file_that_cannot_be_read_is_refused(cli: Cli, empty_app: App) -> None:
    url = empty_app.settings.database_url
    assert cli(url, "import-roster", "nope.csv") == Result(2, "", "找不到文件：nope.csv\n")
    assert cli(url, "import-roster", "nope.csv", locale="en") == Result(2, "", "File not found: nope.csv\n")
    assert _counts(empty_app) == (0, 0, 0)


def test_bad_rows_are_each_listed_and_nothing_is_imported(cli: Cli, empty_app: App, tmp_path: Path) -> None:
    url = empty_app.settings.database_url
    _write(
        tmp_path / "one.csv",
        ROWS[0],
        "向阳小学,3,1班,0303,,男,否,,马三山,13800001113,父亲,李老师,13900002222",
    )
    assert cli(url, "import-roster", "one.csv") == Result(
        2, "", "第 3 行：student_name 为空\n1 行有错误，共 1 处：没有导入任何数据。\n"
    )
    _write(
        tmp_path / "two.csv",
        "向阳小学,3,1班,0301,马小花,女,也许,,,,,,",
        ROWS[1],
        "向阳小学,,1班,0303,马三,男,否,,,,,,",
    )
    assert cli(url, "import-roster", "two.csv") == Result(
        2,
        "",
        "第 2 行：住校 '也许' 不是“是”或“否”\n第 4 行：grade 为空\n2 行有错误，共 2 处：没有导入任何数据。\n",
    )
    assert cli(url, "import-roster", "two.csv", locale="en") == Result(
        2,
        "",
        "row 2: boarding '也许' is not 是 or 否\nrow 4: grade is empty\n2 rows have errors, 2 errors in all: nothing was imported.\n",
    )
    assert cli(url, "import-roster", "one.csv", locale="en").err.endswith(
        "\n1 row has errors, 1 error in all: nothing was imported.\n"
    )
    assert _counts(empty_app) == (0, 0, 0)
