"""Reading a roster file: .csv (UTF-8 or GB18030) or .xlsx into headers and raw rows, and mapping the headers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from chatbot.i18n import _
from chatbot.people.roster.model import COLUMNS, REQUIRED, RawRow, RosterError

# Chinese headers as schools' own spreadsheets spell them (simplified and traditional).
HEADER_SYNONYMS: dict[str, str] = {
    "学校": "school",
    "学校名称": "school",
    "學校": "school",
    "年级": "grade",
    "年級": "grade",
    "班级": "class",
    "班級": "class",
    "班": "class",
    "学号": "student_no",
    "學號": "student_no",
    "学籍号": "student_no",
    "學籍號": "student_no",
    "姓名": "student_name",
    "学生姓名": "student_name",
    "學生姓名": "student_name",
    "性别": "gender",
    "性別": "gender",
    "住校": "boarding",
    "是否住校": "boarding",
    "寄宿": "boarding",
    "是否寄宿": "boarding",
    "家庭情况": "household",
    "家庭情況": "household",
    "家庭类型": "household",
    "家庭類型": "household",
    "监护人": "guardian_name",
    "監護人": "guardian_name",
    "监护人姓名": "guardian_name",
    "監護人姓名": "guardian_name",
    "监护人电话": "guardian_phone",
    "監護人電話": "guardian_phone",
    "联系电话": "guardian_phone",
    "聯繫電話": "guardian_phone",
    "关系": "guardian_relation",
    "關係": "guardian_relation",
    "与学生关系": "guardian_relation",
    "與學生關係": "guardian_relation",
    "监护人关系": "guardian_relation",
    "監護人關係": "guardian_relation",
    "班主任": "class_teacher_name",
    "班主任姓名": "class_teacher_name",
    "班主任电话": "class_teacher_phone",
    "班主任電話": "class_teacher_phone",
}
# Identity-card numbers must never enter the database, so such a file is refused outright.
ID_CARD_HINTS = (
    "身份证",
    "身份證",
    "证件号",
    "證件號",
    "idcard",
    "id_card",
    "identitycard",
    "id_number",
    "idno",
)


def read_table(path: Path) -> tuple[list[str], Iterator[RawRow], int]:
    """Headers, the data rows numbered as the spreadsheet numbers them, and a row-count estimate."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise RosterError(_("File not found: {path}").format(path=path))
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".xlsx":
        return _read_xlsx(path)
    raise RosterError(_("Unsupported file type {suffix}: use .csv or .xlsx.").format(suffix=suffix or "?"))


def decode_bytes(data: bytes) -> str:
    """UTF-8 (with or without BOM) or GB18030, the encoding of Chinese Excel exports.

    Short GB18030 text can also be valid UTF-8 ("学校" reads as "ѧУ"), so when both decode,
    the reading that is more Chinese wins.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    readings: list[str] = []
    for encoding in ("utf-8", "gb18030"):
        try:
            readings.append(data.decode(encoding))
        except UnicodeDecodeError:
            continue
    if not readings:
        raise RosterError(_("Cannot read the file: save it as UTF-8 or GB18030 CSV, or as .xlsx."))
    return max(readings, key=_chinese_share)


def _chinese_share(text: str) -> float:
    """Share of the non-ASCII characters that are Han ideographs or CJK/full-width punctuation."""
    sample = [ch for ch in text[:20000] if ord(ch) > 127]
    if not sample:
        return 1.0
    han = sum(
        1
        for ch in sample
        if "\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef"
    )
    return han / len(sample)


def _read_csv(path: Path) -> tuple[list[str], Iterator[RawRow], int]:
    """A CSV file, its delimiter (comma, tab or semicolon) guessed from the header line."""
    text = decode_bytes(path.read_bytes())
    first_line = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count)
    lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not lines:
        raise RosterError(_("The file is empty."))
    body = [(number, list(row)) for number, row in enumerate(lines[1:], start=2)]
    return [str(h) for h in lines[0]], iter(body), len(body)


def _read_xlsx(path: Path) -> tuple[list[str], Iterator[RawRow], int]:
    """The first sheet of a workbook, streamed; the workbook closes when the rows are used up."""
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise RosterError(
            _("Cannot read the spreadsheet: {error}").format(error=type(exc).__name__)
        ) from None
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        workbook.close()
        raise RosterError(_("The file is empty."))
    estimate = max((sheet.max_row or 1) - 1, 0)

    def body() -> Iterator[RawRow]:
        try:
            for number, values in enumerate(rows, start=2):
                yield number, list(values)
        finally:
            workbook.close()

    return ["" if h is None else str(h) for h in header], body(), estimate


def cell_text(value: Any) -> str:
    """A cell as text; Excel stores 学号 1001 as the float 1001.0, which must read back as "1001"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def map_headers(headers: Sequence[str]) -> dict[str, int]:
    """Column name → index; raises on identity-card columns, unknown or duplicate or missing headers."""
    mapping: dict[str, int] = {}
    for index, raw in enumerate(headers):
        header = raw.strip().lstrip("\ufeff")
        key = header.lower().replace(" ", "_")
        if any(hint in key.replace("_", "") or hint in key for hint in ID_CARD_HINTS):
            raise RosterError(
                _(
                    "Column {column!r} looks like identity-card numbers. They must never be stored: "
                    "delete that column and import again."
                ).format(column=header)
            )
        if not header:
            continue
        name = key if key in COLUMNS else HEADER_SYNONYMS.get(header)
        if name is None:
            raise RosterError(_("Unknown column {column!r}.").format(column=header))
        if name in mapping:
            raise RosterError(_("Column {column!r} appears twice.").format(column=name))
        mapping[name] = index
    missing = [c for c in REQUIRED if c not in mapping]
    if missing:
        raise RosterError(_("Missing columns: {columns}.").format(columns=", ".join(missing)))
    return mapping
