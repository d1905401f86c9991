"""write_xlsx read back with openpyxl: sheet names, headers, every cell, formats, bold headers, widths."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from typing import Any

from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from chatbot.app import App
from chatbot.attendance.report import AttendanceReport, Scope, write_xlsx
from chatbot.i18n import use_locale
from db.models.attendance import Mark
from tests.attendance.test_report_build import (
    FIRST,
    LAST,
    THURSDAY,
    TUESDAY,
    WEDNESDAY,
    make_world,
    region_report,
)


def _book(report: AttendanceReport, locale: str = "zh_Hans") -> Workbook:
    with use_locale(locale):
        content = write_xlsx(report)
    return load_workbook(io.BytesIO(content))


def _rows(book: Workbook, sheet: str) -> list[tuple[Any, ...]]:
    return list(book[sheet].iter_rows(values_only=True))


def _widths(book: Workbook, sheet: str) -> list[float]:
    ws = book[sheet]
    return [ws.column_dimensions[column[0].column_letter].width for column in ws.columns]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def _check_layout(book: Workbook) -> None:
    """Headers bold and frozen on every sheet; data rows plain."""
    for ws in book.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert all(cell.font.b is True for cell in ws[1]), ws.title
        for row in ws.iter_rows(min_row=2):
            assert all(not cell.font.b for cell in row), ws.title


def test_workbook_of_the_region_report_in_chinese(empty_app: App) -> None:
    w = make_world(empty_app)
    book = _book(region_report(empty_app, w))
    assert book.sheetnames == ["班级", "学校", "未点名", "缺勤", "台账"]
    _check_layout(book)

    assert _rows(book, "班级") == [
        ("学校", "班级", "学生数", "点名天数", "缺勤", "迟到", "出勤率"),
        ("东山一小", "3年级1班", 4, 2, 4, 1, 0.5),
        ("东山一小", "3年级2班", 3, 2, 2, 1, 0.6667),
        ("东山一小", "4年级1班", 0, 1, 0, 0, None),
        ("东山一小", "5年级1班", 3, 1, 1, 0, 0.6667),
        ("东山二中", "1年级1班", 2, 3, 2, 0, 0.6667),
    ]
    classes = book["班级"]
    assert [c.number_format for c in classes["G"]] == ["General"] + ["0.0%"] * 5
    assert _widths(book, "班级") == [10, 10, 10, 10, 10, 10, 12]

    assert _rows(book, "学校") == [
        ("学校", "应到人天", "缺勤", "迟到", "出勤率"),
        ("东山一小", 17, 7, 2, 0.5882),  # 1 - 7/17 = 0.588235…
        ("东山二中", 6, 2, 0, 0.6667),
    ]
    assert [c.number_format for c in book["学校"]["E"]] == ["General", "0.0%", "0.0%"]
    assert _widths(book, "学校") == [10, 10, 10, 10, 12]

    # Every class of 东山一小 missed Tuesday; grades 4 and 5 took the roll-call on Wednesday only.
    assert _rows(book, "未点名") == [
        ("学校", "班级", "上课日", "未点名天数", "缺点名"),
        ("东山一小", "3年级1班", 3, 1, "11月24日 周二"),
        ("东山一小", "3年级2班", 3, 1, "11月24日 周二"),
        ("东山一小", "4年级1班", 3, 2, "11月24日 周二和11月26日 周四"),
        ("东山一小", "5年级1班", 3, 2, "11月24日 周二和11月26日 周四"),
        (None, None, None, None, None),
        ("点名情况", "5/5 个班已点名，6/15 个班日未点名", None, None, None),
    ]

    assert _rows(book, "缺勤") == [
        ("日期", "学校", "班级", "学号", "学生", "状态", "家长回复"),
        *_expected_absences_zh(),
    ]
    absences = book["缺勤"]
    assert [c.number_format for c in absences["A"]] == ["General"] + ["yyyy-mm-dd"] * 9
    assert _widths(book, "缺勤") == [20, 10, 10, 10, 10, 10, 10]

    assert _rows(book, "台账") == [
        (
            "编号",
            "学校",
            "班级",
            "学生",
            "触发原因",
            "建档日期",
            "状态",
            "责任层级",
            "结案日期",
            "结果",
            "原因",
        ),
        (
            w.cases["k_closed_at_first"],
            "东山一小",
            "3年级1班",
            "周转",
            "连续3个上课日缺勤",
            _midnight(date(2026, 11, 16)),
            "已结",
            "班主任",
            _midnight(FIRST),
            "已返校",
            None,
        ),
        (
            w.cases["k_closed_in_period"],
            "东山二中",
            "1年级1班",
            "吴二",
            "最近20个上课日缺勤率30%",
            _midnight(date(2026, 11, 20)),
            "已结",
            "校长",
            _midnight(WEDNESDAY),
            "结案：不属于辍学",
            "有本地户籍但在异地就读",
        ),
        (
            w.cases["k_open_s2_tue"],
            "东山二中",
            "1年级1班",
            "吴一",
            "最近20个上课日缺勤率25%",
            _midnight(TUESDAY),
            "未结",
            "班主任",
            None,
            None,
            None,
        ),
        (
            w.cases["k_open_s1_tue"],
            "东山一小",
            "3年级2班",
            "钱三",
            "连续3个上课日缺勤",
            _midnight(TUESDAY),
            "未结",
            "校长",
            None,
            None,
            None,
        ),
        (
            w.cases["k_open_s1_thu"],
            "东山一小",
            "3年级1班",
            "赵四",
            "连续3个上课日缺勤",
            _midnight(THURSDAY),
            "未结",
            "县教育局",
            None,
            None,
            None,
        ),
    ]
    assert _widths(book, "台账") == [10, 10, 10, 10, 28, 20, 10, 10, 20, 16, 22]


def _expected_absences_zh() -> list[tuple[Any, ...]]:
    """The absence rows as openpyxl reads them back: an empty answer cell reads as None."""
    return [
        (_midnight(TUESDAY), "东山二中", "1年级1班", "0101", "吴一", "缺勤", "事假"),
        (_midnight(WEDNESDAY), "东山一小", "3年级1班", "0321", "赵一", "缺勤", "生病"),
        (_midnight(WEDNESDAY), "东山一小", "3年级1班", "0503", "周转", "缺勤", None),
        (_midnight(WEDNESDAY), "东山一小", "3年级2班", "0311", "钱一", "缺勤", "不知道"),
        (_midnight(WEDNESDAY), "东山一小", "5年级1班", "0501", "孙一", "缺勤", None),
        (_midnight(WEDNESDAY), "东山二中", "1年级1班", "0102", "吴二", "病假", None),
        (_midnight(THURSDAY), "东山一小", "3年级1班", "0321", "赵一", "缺勤", None),
        (_midnight(THURSDAY), "东山一小", "3年级1班", "0323", "赵三", "病假", None),
        (_midnight(THURSDAY), "东山一小", "3年级2班", "0313", "钱三", "事假", "已在路上"),
    ]


def test_workbook_of_the_region_report_in_english(empty_app: App) -> None:
    w = make_world(empty_app)
    book = _book(region_report(empty_app, w), "en")
    assert book.sheetnames == ["Classes", "Schools", "No roll-call", "Absences", "Cases"]
    _check_layout(book)
    assert _rows(book, "Classes")[0] == (
        "School",
        "Class",
        "Pupils",
        "Roll-call days",
        "Absences",
        "Late",
        "Attendance rate",
    )
    assert _rows(book, "Schools")[0] == (
        "School",
        "Expected pupil-days",
        "Absences",
        "Late",
        "Attendance rate",
    )
    absences = _rows(book, "Absences")
    assert absences[0] == ("Day", "School", "Class", "Student number", "Pupil", "Status", "Guardian's answer")
    assert absences[1][2:] == ("Grade 1 1班", "0101", "吴一", "absent", "Personal leave")
    assert [row[5] for row in absences[1:]] == ["absent"] * 5 + [
        "sick leave",
        "absent",
        "sick leave",
        "personal leave",
    ]
    cases = _rows(book, "Cases")
    assert cases[0] == (
        "Case",
        "School",
        "Class",
        "Pupil",
        "Trigger",
        "Opened",
        "Status",
        "Level",
        "Closed",
        "Outcome",
        "Reason",
    )
    assert cases[2][4:] == (
        "absent 30% of the last 20 school days",
        _midnight(date(2026, 11, 20)),
        "closed",
        "principal",
        _midnight(WEDNESDAY),
        "closed: not a dropout",
        "Registered here but studying elsewhere",
    )
    assert [row[6] for row in cases[1:]] == ["closed", "closed", "open", "open", "open"]
    # Widths: twice the longest text, at least 10 and at most 40.
    assert _widths(book, "Classes") == [12, 10, 12, 28, 16, 10, 30]
    assert _widths(book, "Schools") == [12, 38, 16, 10, 30]
    assert _widths(book, "Cases") == [10, 12, 10, 10, 40, 20, 12, 26, 20, 40, 40]


def test_workbook_of_an_empty_report_has_headers_only(empty_app: App) -> None:
    report = AttendanceReport(scope=Scope("school", 1), title="空校", first=FIRST, last=LAST)
    book = _book(report)
    assert book.sheetnames == ["班级", "学校", "未点名", "缺勤", "台账"]
    _check_layout(book)
    assert [len(_rows(book, name)) for name in book.sheetnames] == [1, 1, 3, 1, 1]
    assert _rows(book, "未点名")[1:] == [(None,) * 5, ("点名情况", "本时段没有上课日", None, None, None)]
    assert _widths(book, "学校") == [10, 10, 10, 10, 10]


def test_column_width_reads_the_first_200_cells_only() -> None:
    long_name = "欧阳" * 8
    absences: list[tuple[Any, ...]] = [
        (FIRST + timedelta(days=0), "一小", 3, "1班", f"{n:04d}", "王五", Mark.ABSENT, None)
        for n in range(199)
    ]
    # Cell 201 of the pupil column (the header is cell 1) is the first one left out of the width.
    absences += [(FIRST, "一小", 3, "1班", "9999", long_name, Mark.ABSENT, None)]
    report = AttendanceReport(
        scope=Scope("school", 1), title="一小", first=FIRST, last=LAST, absences=absences
    )
    book = _book(report)
    assert _rows(book, "缺勤")[200][4] == long_name
    assert _widths(book, "缺勤")[4] == 10
    report.absences.insert(0, absences[-1])
    assert _widths(_book(report), "缺勤")[4] == 32
