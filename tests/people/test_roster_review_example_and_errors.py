"""Review findings on the roster import, through `bot.py roster-template` and `bot.py import-roster`:

- a filled template whose example row (马小花, 李老师) was left in imports the school's pupils and not
  the example, in .csv and .xlsx, and the summary says the example row was skipped;
- rows holding several errors each are counted as rows, each row's line says how many errors it has.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from chatbot.app import App
from chatbot.i18n import use_locale
from chatbot.people.roster import ImportCounts, RowError, bad_rows_summary, import_file, summary
from db.models import Person, Student
from db.session import transaction
from tests.people.cli_run import InProcessCli

PUPIL = ["向阳小学", "4", "2班", "0402007", "王小明", "男", "否", "低保", "王大明", "13700001234", "父亲", "张老师", "13600005678"]  # fmt: skip
SKIPPED_ZH = "模板中的示例行（第 2 行）已跳过，没有导入。"
SUMMARY_ZH = (
    "共 1 行：新增学生 1 名，更新 0 名，未变 0 名；新增学校 1 所、班级 1 个；新增人员 2 人，更新 0 人；"
    "新增监护关系 1 条，删除 0 条；班主任变动 1 处。"
)


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, now: datetime
) -> InProcessCli:
    return InProcessCli(monkeypatch, capsys, tmp_path, now)


def _fill(path: Path, *rows: list[str]) -> None:
    """What an operator does: type the pupils below the example row and save."""
    if path.suffix == ".csv":
        with path.open("a", encoding="utf-8", newline="") as out:
            csv.writer(out).writerows(rows)
        return
    workbook = load_workbook(path)
    for row in rows:
        workbook.worksheets[0].append(row)
    workbook.save(path)


def _pupils(app: App) -> list[tuple[str, str]]:
    with app.session_factory() as s:
        return [(p.student_no, p.name) for p in s.scalars(select(Student).order_by(Student.student_no))]


@pytest.mark.parametrize("name", ["名册.csv", "名册.xlsx"])
def test_a_filled_template_imports_without_its_example_row(
    name: str, cli: InProcessCli, empty_app: App, tmp_path: Path
) -> None:
    url = empty_app.settings.database_url
    assert cli(url, "roster-template", name).code == 0
    _fill(tmp_path / name, PUPIL)
    result = cli(url, "import-roster", name, "--region", "c1", "--no-progress")
    assert result.code == 0 and result.err == ""
    assert result.out.splitlines()[0] == SUMMARY_ZH + " " + SKIPPED_ZH
    assert _pupils(empty_app) == [("0402007", "王小明")]
    with empty_app.session_factory() as s:
        names = set(s.scalars(select(Person.name)))
    assert names == {"王大明", "张老师"}  # not 马大山 nor 李老师


def test_the_example_row_is_marked_in_both_templates(
    cli: InProcessCli, empty_app: App, tmp_path: Path
) -> None:
    url = empty_app.settings.database_url
    assert cli(url, "roster-template", "r.csv").code == 0
    assert cli(url, "roster-template", "r.xlsx", "--english").code == 0
    example_csv = (tmp_path / "r.csv").read_text("utf-8-sig").splitlines()[1].split(",")
    workbook = load_workbook(tmp_path / "r.xlsx")
    sheet = workbook.worksheets[0]
    example_xlsx = [c.value for c in sheet[2]]
    grey = {(c.font.i, c.font.color.rgb if c.font.color else None) for c in sheet[2]}
    workbook.close()
    assert example_csv == example_xlsx
    assert example_csv[0] == "示例（此行不会导入）红旗小学"
    assert grey == {(True, "00808080")}


def test_an_unmarked_example_row_from_an_old_template_is_skipped_too(
    cli: InProcessCli, empty_app: App, tmp_path: Path
) -> None:
    """Templates handed out before the mark carry the same pupil 0301001 马小花 with guardian 13800001111."""
    old = ["红旗小学", "3", "1班", "0301001", "马小花", "女", "是", "建档立卡、低保", "马大山", "13800001111", "父亲", "李老师", "13900002222"]  # fmt: skip
    path = tmp_path / "old.csv"
    path.write_text(
        "学校,年级,班级,学号,学生姓名,性别,是否住校,家庭情况,监护人姓名,监护人电话,与学生关系,班主任姓名,班主任电话\n",
        "utf-8",
    )
    _fill(path, old, PUPIL)
    result = cli(empty_app.settings.database_url, "import-roster", "old.csv", "--region", "c1", locale="en")
    assert result.code == 0
    assert "The template's example row (row 2) was skipped, not imported." in result.out
    assert _pupils(empty_app) == [("0402007", "王小明")]


def test_the_summary_names_every_skipped_example_row() -> None:
    counts = ImportCounts(rows=1, examples_skipped=[2, 40])
    with use_locale("zh_Hant"):
        assert summary(counts).endswith(" 範本中的示例行（第 2、40 行）已略過，沒有匯入。")
    with use_locale("en"):
        assert summary(counts).endswith(
            " The template's example rows (rows 2, 40) were skipped, not imported."
        )
    assert "skipped" not in summary(ImportCounts(rows=1))


# --- rows and errors counted apart -------------------------------------------------------------------

HEADER = "school,grade,class,student_no,student_name,gender,boarding,household,guardian_name,guardian_phone,guardian_relation,class_teacher_name,class_teacher_phone"
# 7 bad rows holding 10 errors: rows 3, 5 and 6 hold two each, the others one.
BAD = [
    "向阳小学,4,2班,0401,甲,男,否,,,,,,",
    "向阳小学,,2班,0402,,男,否,,,,,,",  # row 3: grade and name empty
    "向阳小学,4,2班,0403,丙,?,否,,,,,,",  # row 4: gender
    "向阳小学,4,2班,0404,丁,男,也许,,,110,,,",  # row 5: boarding, a phone without a guardian name
    ",4,2班,0405,戊,男,否,富裕,,,,,",  # row 6: school empty, household unknown
    "向阳小学,4,2班,0406,己,女,否,,,,,,12812345678",  # row 7: a teacher phone without a name
    "向阳小学,4,2班,,庚,女,否,,,,,,",  # row 8: student number empty
    "向阳小学,0,2班,0408,辛,女,否,,,,,,",  # row 9: grade 0
]


def test_rows_with_several_errors_are_counted_as_rows(
    cli: InProcessCli, empty_app: App, tmp_path: Path
) -> None:
    (tmp_path / "bad.csv").write_text("\n".join([HEADER, *BAD]) + "\n", "utf-8")
    url = empty_app.settings.database_url
    result = cli(url, "import-roster", "bad.csv", "--region", "c1", locale="en")
    assert result.code == 2 and result.out == ""
    assert result.err.splitlines() == [
        "row 3 (2 errors): grade is empty; student_name is empty",
        "row 4: gender '?' is not 男 or 女",
        "row 5 (2 errors): boarding '也许' is not 是 or 否; guardian_name is empty",
        "row 6 (2 errors): school is empty; household flag '富裕' is unknown "
        "(use registered_poor, dibao, tekun, orphan, disabled)",
        "row 7: class_teacher_name is empty",
        "row 8: student_no is empty",
        "row 9: grade '0' is not a grade from 1 to 12",
        "7 rows have errors, 10 errors in all: nothing was imported.",
    ]
    zh = cli(url, "import-roster", "bad.csv", "--region", "c1")
    assert zh.err.splitlines()[0].startswith("第 3 行（2 处错误）：")
    assert zh.err.splitlines()[-1] == "7 行有错误，共 10 处：没有导入任何数据。"
    assert _pupils(empty_app) == []


def test_the_bad_rows_summary_counts_rows_and_errors_apart(
    empty_app: App, tmp_path: Path, now: datetime
) -> None:
    (tmp_path / "bad.csv").write_text("\n".join([HEADER, *BAD]) + "\n", "utf-8")
    with transaction(empty_app.session_factory) as session:
        counts, errors = import_file(session, tmp_path / "bad.csv", "c1", now, show_progress=False)
    assert counts is None and [e.line for e in errors] == [3, 4, 5, 6, 7, 8, 9]
    assert sum(e.errors for e in errors) == 10
    with use_locale("zh_Hans"):
        assert bad_rows_summary(errors) == "7 行有错误，共 10 处：没有导入任何数据。"
    with use_locale("zh_Hant"):
        assert bad_rows_summary(errors) == "7 行有錯誤，共 10 處：沒有匯入任何資料。"
    with use_locale("en"):
        assert bad_rows_summary(errors) == "7 rows have errors, 10 errors in all: nothing was imported."
        assert bad_rows_summary([RowError(4, "grade is empty")]) == (
            "1 row has errors, 1 error in all: nothing was imported."
        )
