"""Reading a calendar file: each unusable file gets one exact problem line naming the file, the row or
the keys; a byte-order mark, a `.yml` file and a row's own region are accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.calendar.importer import CalendarImportError, ImportResult, import_calendar
from db.models import Region
from db.session import transaction
from tests.calendar.test_official_parts import NOW


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def problems_of(app: App, path: Path) -> list[str]:
    """The problems the import of `path` reports (it must fail)."""
    with pytest.raises(CalendarImportError) as error, transaction(app.session_factory) as s:
        import_calendar(s, path, NOW)
    return error.value.problems


def imported(app: App, path: Path) -> ImportResult:
    with transaction(app.session_factory) as s:
        return import_calendar(s, path, NOW)


def test_the_error_message_is_the_problems_one_per_line() -> None:
    error = CalendarImportError(["第1项：没有名称", "第2项：应为映射"])
    assert str(error) == "第1项：没有名称\n第2项：应为映射"
    assert error.problems == ["第1项：没有名称", "第2项：应为映射"]


def test_a_csv_file_with_a_byte_order_mark_is_read(app: App, tmp_path: Path) -> None:
    path = write(tmp_path, "cal.csv", "\ufeffregion,kind,start\nlinxia-demo,day_off,2027-10-12\n")
    assert imported(app, path) == ImportResult(entries=1, replaced=0, regions={"linxia-demo"})


def test_a_yml_file_is_read_as_yaml(app: App, tmp_path: Path) -> None:
    path = write(
        tmp_path, "cal.yml", "region: linxia-demo\nentries:\n  - {kind: day_off, start: 2027-10-12}\n"
    )
    assert imported(app, path) == ImportResult(entries=1, replaced=0, regions={"linxia-demo"})


def test_a_file_that_is_not_utf8_cannot_be_read(app: App, tmp_path: Path) -> None:
    path = write(tmp_path, "cal.csv", b"\xffregion,kind,start\n")
    assert problems_of(app, path) == [
        f"无法读取 {path}：'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"
    ]


def test_a_missing_file_cannot_be_read(app: App, tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    assert problems_of(app, path) == [f"无法读取 {path}：[Errno 2] No such file or directory: '{path}'"]


def test_invalid_yaml_names_the_file_and_the_parser_error(app: App, tmp_path: Path) -> None:
    path = write(tmp_path, "cal.yaml", "region: [unclosed\n")
    assert problems_of(app, path) == [
        f"{path}：不是有效的 YAML：while parsing a flow sequence\n"
        '  in "<unicode string>", line 1, column 9:\n'
        "    region: [unclosed\n"
        "            ^\n"
        "expected ',' or ']', but got '<stream end>'\n"
        '  in "<unicode string>", line 2, column 1:\n'
        "    \n"
        "    ^"
    ]


@pytest.mark.parametrize(
    "content",
    ["- a\n- b\n", "entries: abc\n", "region: linxia-demo\nentries: {kind: day_off}\n"],
    ids=["top-level list", "entries a string", "entries a mapping"],
)
def test_yaml_must_be_a_mapping_with_an_entries_list(app: App, tmp_path: Path, content: str) -> None:
    path = write(tmp_path, "cal.yaml", content)
    assert problems_of(app, path) == [f"{path}：应为包含 'entries' 列表的映射"]


def test_an_entry_that_is_not_a_mapping_is_named_by_its_number(app: App, tmp_path: Path) -> None:
    path = write(
        tmp_path, "cal.yaml", "region: linxia-demo\nentries:\n  - {kind: day_off, start: 2027-10-12}\n  - 5\n"
    )
    assert problems_of(app, path) == ["第2项：应为映射"]


def test_without_a_top_level_region_an_entry_needs_its_own(app: App, tmp_path: Path) -> None:
    path = write(tmp_path, "cal.yaml", "entries:\n  - {kind: day_off, start: 2027-10-12}\n")
    assert problems_of(app, path) == ["第1项：region：Field required"]


def test_without_a_top_level_region_an_entry_uses_its_own(app: App, tmp_path: Path) -> None:
    path = write(
        tmp_path, "cal.yaml", "entries:\n  - {region: linxia-demo, kind: day_off, start: 2027-10-12}\n"
    )
    assert imported(app, path) == ImportResult(entries=1, replaced=0, regions={"linxia-demo"})


def test_unknown_top_level_keys_are_listed_sorted(app: App, tmp_path: Path) -> None:
    path = write(tmp_path, "cal.yaml", "region: linxia-demo\nentries: []\nzeta: 1\nalpha: 2\n")
    assert problems_of(app, path) == [f"{path}：未知的顶层键：alpha, zeta"]


def test_missing_csv_columns_are_listed_sorted(app: App, tmp_path: Path) -> None:
    path = write(tmp_path, "cal.csv", "region,name\nlinxia-demo,x\n")
    assert problems_of(app, path) == [f"{path}：缺少列：kind, start"]


def test_the_first_csv_row_after_the_header_is_row_2(app: App, tmp_path: Path) -> None:
    path = write(tmp_path, "cal.csv", "region,kind,start\nnowhere,day_off,2027-10-12\n")
    assert problems_of(app, path) == ["第2行：未知地区 'nowhere'"]


def test_another_file_type_is_refused(app: App, tmp_path: Path) -> None:
    path = write(tmp_path, "cal.txt", "region,kind,start\n")
    assert problems_of(app, path) == [f"{path}：请使用 .yaml、.yml 或 .csv 文件"]


def test_a_file_without_entries_reminders_or_official_days_is_refused(app: App, tmp_path: Path) -> None:
    path = write(tmp_path, "cal.yaml", "region: linxia-demo\nentries: []\n")
    assert problems_of(app, path) == [f"{path}：没有任何条目"]


def test_reminders_need_a_top_level_region(app: App, tmp_path: Path) -> None:
    path = write(tmp_path, "cal.yaml", "entries: []\nreminders: {term_start: {days_before: [7]}}\n")
    assert problems_of(app, path) == ["reminders：需要一个存在的顶层地区代码（region）"]


def test_reminders_without_a_region_are_not_given_to_a_region_coded_none(app: App, tmp_path: Path) -> None:
    with transaction(app.session_factory) as s:
        s.add(Region(code="None", name="无名县", timezone="Asia/Shanghai", aid_pack=None, settings={}))
    path = write(tmp_path, "cal.yaml", "entries: []\nreminders: {term_start: {days_before: [7]}}\n")
    assert problems_of(app, path) == ["reminders：需要一个存在的顶层地区代码（region）"]
    with app.session_factory() as s:
        assert s.scalars(select(Region.settings).where(Region.code == "None")).one() == {}


def test_reminders_alone_are_an_import_without_entries(app: App, tmp_path: Path) -> None:
    path = write(tmp_path, "cal.yaml", "region: linxia-demo\nreminders: {term_start: {days_before: [7]}}\n")
    assert imported(app, path) == ImportResult(
        entries=0, replaced=0, regions={"linxia-demo"}, rule_overrides=1
    )
