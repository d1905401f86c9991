"""The empty roster a school fills in: headers and one example row, as .csv or .xlsx.

The example row's school cell starts with EXAMPLE_MARK ("示例（此行不会导入）"), so the reader skips
it when a school fills its pupils in below it and leaves it there (validate.is_example); in the
workbook it is grey and italic as well.
"""

from __future__ import annotations

import csv
from pathlib import Path

from chatbot.i18n import _
from chatbot.people.roster.model import COLUMNS, EXAMPLE_MARK, RosterError

# The headers a template carries: the Chinese a school's office would write itself.
CHINESE_HEADERS = {
    "school": "学校",
    "grade": "年级",
    "class": "班级",
    "student_no": "学号",
    "student_name": "学生姓名",
    "gender": "性别",
    "boarding": "是否住校",
    "household": "家庭情况",
    "guardian_name": "监护人姓名",
    "guardian_phone": "监护人电话",
    "guardian_relation": "与学生关系",
    "class_teacher_name": "班主任姓名",
    "class_teacher_phone": "班主任电话",
}
EXAMPLE_ROW = (
    f"{EXAMPLE_MARK}红旗小学",
    "3",
    "1班",
    "0301001",
    "马小花",
    "女",
    "是",
    "建档立卡、低保",
    "马大山",
    "13800001111",
    "父亲",
    "李老师",
    "13900002222",
)
TEXT_COLUMNS = ("student_no", "guardian_phone", "class_teacher_phone")


def write_template(path: Path, english: bool = False) -> None:
    """An empty roster with headers and one example row; in .xlsx the number-like columns are text."""
    headers = list(COLUMNS) if english else [CHINESE_HEADERS[c] for c in COLUMNS]
    suffix = path.suffix.lower()
    if suffix == ".csv":
        # With a BOM, Excel opens the CSV as UTF-8 instead of the system code page.
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(headers)
            writer.writerow(EXAMPLE_ROW)
        return
    if suffix != ".xlsx":
        raise RosterError(
            _("Unsupported file type {suffix}: use .csv or .xlsx.").format(suffix=suffix or "?")
        )
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(headers)
    sheet.append(list(EXAMPLE_ROW))
    for cell in sheet[2]:
        cell.font = Font(italic=True, color="808080")  # grey: it reads as an example, not a pupil
    for name in TEXT_COLUMNS:
        letter = get_column_letter(COLUMNS.index(name) + 1)
        # Text format keeps leading zeros in 学号 and stops phones turning into 1.38E+10.
        for row in range(1, 2001):
            sheet[f"{letter}{row}"].number_format = "@"
    workbook.save(path)
