"""Reading a roster file before any validation: `decode_bytes` choosing between the UTF-8 and the GB18030
reading of bytes valid in both (exactly which characters count as Chinese, and only within the first
20,000 characters), `read_table` on CSV (delimiter from the header line, line endings, quoted line
breaks, an empty file, bytes in no known encoding) and on .xlsx (cached formula values, the declared
size as the row estimate, a file that is not a spreadsheet)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from chatbot.i18n import use_locale
from chatbot.people.roster import RosterError, decode_bytes, read_table


def refusal(path: Path) -> tuple[str, str]:
    """The message `read_table` refuses the file with, in English and in Chinese."""
    messages = []
    for locale in ("en", "zh_Hans"):
        with use_locale(locale), pytest.raises(RosterError) as caught:
            read_table(path)
        messages.append(str(caught.value))
    return messages[0], messages[1]


def table(path: Path) -> tuple[list[str], list[tuple[int, list[object]]], int]:
    headers, rows, estimate = read_table(path)
    return headers, list(rows), estimate


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # "一" in GB18030 is also valid UTF-8 (Cyrillic "һ"): U+4E00, the first Han ideograph, counts.
        (b"\xd2\xbb", "一"),
        # UTF-8 "、" + U+9FFF, the last ideograph counted; the GB18030 reading is three odd ideographs.
        (b"\xe3\x80\x81\xe9\xbf\xbf", "、\u9fff"),
        # CJK punctuation U+3001 and U+303F count in the UTF-8 reading ("銆乤" / "銆縜" otherwise).
        (b"\xe3\x80\x81a", "、a"),
        (b"\xe3\x80\xbfa", "〿a"),
        # Full-width forms U+FF00 and U+FFEF count too.
        (b"\xe3\x80\x81\xef\xbc\x80", "、\uff00"),
        (b"\xe3\x80\x81\xef\xbf\xaf", "、\uffef"),
        # U+3000 (the ideographic space) counts in the GB18030 reading: 2 of 3 beat 1 of 2.
        (b"\xe5\x88\xab\xef\xa1\xa1", "鍒\ue0ac\u3000"),
        # U+0080 is non-ASCII and not Chinese: the UTF-8 reading scores 0 and GB18030's "聙" wins.
        (b"\xc2\x80", "聙"),
        # DEL (U+007F) is ASCII and is not counted: both readings score 1, the UTF-8 one wins the tie.
        (b"\x7f\xe3\x80\x81a", "\x7f、a"),
        # Only the first 20,000 characters are sampled: both readings are all ASCII there, so UTF-8 wins.
        (b"a" * 20000 + "学校".encode("gb18030"), "a" * 20000 + "ѧУ"),
        (b"a" * 19999 + "学校".encode("gb18030"), "a" * 19999 + "学校"),
    ],
)
def test_decode_bytes_picks_the_more_chinese_reading(data: bytes, expected: str) -> None:
    assert decode_bytes(data) == expected


def test_bytes_in_no_known_encoding_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"school\n\xff\xff\xff\n")
    assert refusal(path) == (
        "Cannot read the file: save it as UTF-8 or GB18030 CSV, or as .xlsx.",
        "无法读取文件：请另存为 UTF-8 或 GB18030 编码的 CSV，或 .xlsx。",
    )


def test_an_empty_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert refusal(path) == ("The file is empty.", "文件是空的。")


def test_the_delimiter_comes_from_the_header_line_alone(tmp_path: Path) -> None:
    # Tab-separated, with more commas in the data than tabs in the whole file.
    path = tmp_path / "tabs.csv"
    path.write_text("学校\t年级\n红星小学\t,,,,,,,,\n", encoding="utf-8")
    assert table(path) == (["学校", "年级"], [(2, ["红星小学", ",,,,,,,,"])], 1)
    semicolons = tmp_path / "semicolons.csv"
    semicolons.write_text("学校;年级;班级\n红星小学;3;1班\n", encoding="utf-8")
    assert table(semicolons) == (["学校", "年级", "班级"], [(2, ["红星小学", "3", "1班"])], 1)


def test_a_single_column_is_split_on_nothing(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("school\nXINJIANG X\n", encoding="utf-8")
    assert table(path) == (["school"], [(2, ["XINJIANG X"])], 1)


def test_line_endings_and_quoted_line_breaks(tmp_path: Path) -> None:
    old_mac = tmp_path / "cr.csv"
    old_mac.write_bytes(b"school,grade\rA,3\rB,4\r")
    assert table(old_mac) == (["school", "grade"], [(2, ["A", "3"]), (3, ["B", "4"])], 2)
    # A line break typed inside a cell (Alt+Enter in Excel) stays exactly as written.
    quoted = tmp_path / "quoted.csv"
    quoted.write_bytes(b'school,grade\r\n"A\r\nB",3\r\n"C\rD",4\r\n')
    assert table(quoted) == (["school", "grade"], [(2, ["A\r\nB", "3"]), (3, ["C\rD", "4"])], 2)


def _xlsx(path: Path, dimension: str) -> None:
    """A sheet with a formula whose cached value is 3 (as Excel saves it) and a declared size."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["学校", "年级"])
    sheet.append(["红星小学", "=1+2"])
    sheet.append([None, 4.0])
    plain = path.with_suffix(".plain.xlsx")
    workbook.save(plain)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                xml = data.decode()
                xml = xml.replace("<f>1+2</f><v />", "<f>1+2</f><v>3</v>")
                xml = re.sub(r'<dimension ref="[^"]*" />', f'<dimension ref="{dimension}" />', xml)
                assert "<v>3</v>" in xml and dimension in xml
                data = xml.encode()
            target.writestr(item, data)


def test_xlsx_reads_cached_values_and_estimates_from_the_declared_size(tmp_path: Path) -> None:
    path = tmp_path / "roster.xlsx"
    _xlsx(path, "A1:B3")
    assert table(path) == (["学校", "年级"], [(2, ["红星小学", 3]), (3, [None, 4])], 2)
    # The estimate is the size the file declares (read without loading the sheet), header excluded.
    big = tmp_path / "big.xlsx"
    _xlsx(big, "A1:B2500")
    assert table(big)[2] == 2499


def test_a_file_that_is_not_a_spreadsheet(tmp_path: Path) -> None:
    path = tmp_path / "roster.xlsx"
    path.write_text("学校,年级\n", encoding="utf-8")
    assert refusal(path) == ("Cannot read the spreadsheet: BadZipFile", "无法读取表格：BadZipFile")
