"""Roster import through the real path: files on disk, a real database, all-or-nothing validation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chatbot.app import App
from chatbot.i18n import use_locale as locale
from chatbot.people.roster import (
    COLUMNS,
    ImportCounts,
    RosterError,
    RowError,
    decode_bytes,
    import_file,
    parse_grade,
    parse_household,
)
from db.models import AuditLog, Guardian, Membership, Person, Region, Role, School, SchoolClass, Student
from db.session import transaction
from tests.people.rostergen import roster_rows, write_csv, write_xlsx

MODELS = (School, SchoolClass, Student, Person, Guardian, Membership)


def table_counts(app: App) -> dict[str, int]:
    with app.session_factory() as s:
        return {m.__name__: s.scalar(select(func.count()).select_from(m)) or 0 for m in MODELS}


def run_import(
    app: App, path: Path, now: datetime, region: str | None = "test-county"
) -> tuple[ImportCounts | None, list[RowError]]:
    with transaction(app.session_factory) as session:
        return import_file(session, path, region, now, show_progress=False)


WRITERS: dict[str, Callable[[Path, list[list[str]]], Path]] = {
    "utf8-bom.csv": lambda p, rows: write_csv(p, rows, "utf-8-sig"),
    "gb18030.csv": lambda p, rows: write_csv(p, rows, "gb18030"),
    "excel.xlsx": write_xlsx,
}


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_5000_pupils_import_then_reimport_changes_nothing(
    kind: str, empty_app: App, tmp_path: Path, now: datetime
) -> None:
    rows = roster_rows(5000)
    path = WRITERS[kind](tmp_path / f"roster-{kind}", rows)
    counts, errors = run_import(empty_app, path, now)
    assert errors == []
    assert counts is not None
    assert (counts.students_created, counts.schools_created, counts.classes_created) == (5000, 3, 120)
    # 4,500 families (every tenth pupil is a sibling) and 120 class teachers.
    assert (counts.people_created, counts.guardian_links_added, counts.teacher_changes) == (4620, 5000, 120)
    before = table_counts(empty_app)
    assert before["Student"] == 5000 and before["Guardian"] == 5000

    again, errors = run_import(empty_app, path, now)
    assert errors == [] and again is not None
    assert not again.changed
    assert again.students_unchanged == 5000
    assert table_counts(empty_app) == before
    with empty_app.session_factory() as s:
        audits = list(s.scalars(select(AuditLog).where(AuditLog.action == "roster.import")))
        assert [a.details["students_created"] for a in audits] == [5000, 0]


def test_every_format_reads_the_same_data(empty_app: App, tmp_path: Path, now: datetime) -> None:
    rows = roster_rows(300, seed=3)
    counts, _errors = run_import(empty_app, write_csv(tmp_path / "a.csv", rows, "utf-8"), now)
    assert counts is not None and counts.students_created == 300
    for name, writer in WRITERS.items():
        again, errors = run_import(empty_app, writer(tmp_path / name, rows), now)
        assert errors == [] and again is not None and not again.changed, name


def test_three_bad_rows_import_nothing_and_are_all_named(
    empty_app: App, tmp_path: Path, now: datetime
) -> None:
    rows = roster_rows(1000)
    rows[9][9] = "12345"  # guardian_phone, spreadsheet row 11
    rows[499][1] = "十三"  # grade, row 501
    rows[998][7] = "富裕"  # household, row 1000
    with locale("en"):
        counts, errors = run_import(empty_app, write_csv(tmp_path / "bad.csv", rows), now)
        messages = [str(e) for e in errors]
    assert counts is None
    assert [e.line for e in errors] == [11, 501, 1000]
    assert "guardian_phone '12345' is not a phone number" in messages[0]
    assert "grade '十三'" in messages[1]
    assert "household flag '富裕' is unknown" in messages[2]
    assert table_counts(empty_app)["Student"] == 0
    with empty_app.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Region)) == 0


def test_bad_row_reasons_are_translated(empty_app: App, tmp_path: Path, now: datetime) -> None:
    rows = roster_rows(3)
    rows[0][4] = ""
    with locale("zh_Hans"):
        _counts, errors = run_import(empty_app, write_csv(tmp_path / "bad.csv", rows), now)
        assert str(errors[0]).startswith("第 2 行")


CHINESE_HEADERS = [
    "学校",
    "年级",
    "班级",
    "学号",
    "学生姓名",
    "性别",
    "是否住校",
    "家庭情况",
    "监护人姓名",
    "监护人电话",
    "与学生关系",
    "班主任",
    "班主任电话",
]


def test_chinese_headers_and_synonyms(empty_app: App, tmp_path: Path, now: datetime) -> None:
    rows = [
        [
            "红旗小学",
            "三年级",
            "2",
            "1001",
            "马小花",
            "女",
            "是",
            "建档立卡、低保",
            "马大山",
            "138 0000 1111",
            "父亲",
            "李老师",
            "13900002222",
        ],
        [
            "红旗小学",
            "初一",
            "1班",
            "1002",
            "马小草",
            "M",
            "否",
            "无",
            "马大山",
            "+8613800001111",
            "父亲",
            "",
            "",
        ],
    ]
    counts, errors = run_import(
        empty_app, write_csv(tmp_path / "zh.csv", rows, "gb18030", CHINESE_HEADERS), now
    )
    assert errors == [] and counts is not None
    with empty_app.session_factory() as s:
        students = {st.student_no: st for st in s.scalars(select(Student))}
        assert students["1001"].household == ["registered_poor", "dibao"]
        assert students["1001"].boarding is True and students["1001"].gender == "女"
        assert students["1001"].school_class.grade == 3 and students["1001"].school_class.name == "2班"
        assert students["1002"].school_class.grade == 7 and students["1002"].gender == "男"
        # One guardian by phone, linked to both children.
        guardian = s.scalars(select(Person).where(Person.phone == "13800001111")).one()
        assert {w.student.student_no for w in guardian.wards} == {"1001", "1002"}
        teacher = s.scalars(select(Person).where(Person.phone == "13900002222")).one()
        assert [(m.role, m.scope_id) for m in teacher.memberships] == [
            (Role.CLASS_TEACHER, students["1001"].class_id)
        ]
        assert s.scalars(select(School)).one().stage == "primary"


@pytest.mark.parametrize("header", ["身份证号", "id_card", "学生身份證號碼", "ID Card"])
def test_identity_card_columns_are_refused(
    header: str, empty_app: App, tmp_path: Path, now: datetime
) -> None:
    rows = [[*row, "620000200001011234"] for row in roster_rows(2)]
    path = write_csv(tmp_path / "id.csv", rows, headers=[*COLUMNS, header])
    with locale("en"), pytest.raises(RosterError, match="identity-card"):
        run_import(empty_app, path, now)
    assert table_counts(empty_app)["Student"] == 0


def test_reimport_updates_moves_and_replaces(empty_app: App, tmp_path: Path, now: datetime) -> None:
    rows = roster_rows(100)
    run_import(empty_app, write_csv(tmp_path / "v1.csv", rows), now)
    rows[0][2] = "9班"  # moves to a new class
    rows[1][4] = "改名字"  # renamed
    rows[2][9] = "13311112222"  # a new guardian replaces the old one
    rows[2][8] = "新监护人"
    old_teacher_phone = rows[3][12]
    new_class_rows = [r for r in rows if (r[0], r[1], r[2]) == (rows[3][0], rows[3][1], rows[3][2])]
    for row in new_class_rows:
        row[11], row[12] = "新班主任", "13322223333"
    counts, errors = run_import(empty_app, write_csv(tmp_path / "v2.csv", rows), now)
    assert errors == [] and counts is not None
    assert (counts.students_created, counts.students_updated) == (0, 2)
    assert counts.classes_created == 1
    assert (counts.guardian_links_added, counts.guardian_links_removed) == (1, 1)
    assert counts.teacher_changes == 2  # the new class and the replaced teacher
    with empty_app.session_factory() as s:
        pupil = s.scalars(select(Student).where(Student.student_no == rows[2][3])).one()
        assert [g.person.phone for g in pupil.guardians] == ["13311112222"]
        old = s.scalars(select(Person).where(Person.phone == old_teacher_phone)).one()
        new = s.scalars(select(Person).where(Person.phone == "13322223333")).one()
        klass = s.get(SchoolClass, new.memberships[0].scope_id)
        assert klass is not None and klass.class_teacher_id == new.id
        assert all(m.scope_id != klass.id for m in old.memberships)
    assert table_counts(empty_app)["Student"] == 100


def test_two_guardians_per_pupil_on_two_rows(empty_app: App, tmp_path: Path, now: datetime) -> None:
    rows = roster_rows(2)
    mother = list(rows[0])
    mother[8:11] = ["母亲名", "13344445555", "母亲"]
    conflicting = list(rows[1])
    conflicting[4] = "别的名字"
    conflicting[9] = "13355556666"
    with locale("en"):
        _c, errors = run_import(empty_app, write_csv(tmp_path / "x.csv", [*rows, mother, conflicting]), now)
    assert [e.line for e in errors] == [5]
    assert "already used by row 3" in str(errors[0])
    counts, errors = run_import(empty_app, write_csv(tmp_path / "y.csv", [*rows, mother]), now)
    assert errors == [] and counts is not None
    assert (counts.students_created, counts.guardian_links_added) == (2, 3)


def test_region_must_be_named_when_not_exactly_one(empty_app: App, tmp_path: Path, now: datetime) -> None:
    path = write_csv(tmp_path / "r.csv", roster_rows(5))
    with locale("en"), pytest.raises(RosterError, match="no region"):
        run_import(empty_app, path, now, region=None)
    run_import(empty_app, path, now, region="a")
    counts, _e = run_import(empty_app, path, now, region=None)  # the only region now
    assert counts is not None and counts.students_unchanged == 5
    with transaction(empty_app.session_factory) as s:
        s.add(Region(code="b", name="b", timezone="Asia/Shanghai", settings={}))
    with locale("en"), pytest.raises(RosterError, match="several regions"):
        run_import(empty_app, path, now, region=None)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\xff\xfe\xff\xff\x00", "UTF-8 or GB18030"),
        (b"school,grade,class\n", "Missing columns: student_no, student_name"),
        (b"school,grade,class,student_no,student_name,shoe_size\n", "Unknown column 'shoe_size'"),
    ],
)
def test_unreadable_files_say_why(
    content: bytes, message: str, empty_app: App, tmp_path: Path, now: datetime
) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    with locale("en"), pytest.raises(RosterError, match=message):
        run_import(empty_app, path, now)


def test_unsupported_and_broken_spreadsheets(empty_app: App, tmp_path: Path, now: datetime) -> None:
    (tmp_path / "r.xls").write_bytes(b"old")
    (tmp_path / "r.xlsx").write_bytes(b"not a zip")
    with locale("en"):
        with pytest.raises(RosterError, match=r"use \.csv or \.xlsx"):
            run_import(empty_app, tmp_path / "r.xls", now)
        with pytest.raises(RosterError, match="Cannot read the spreadsheet"):
            run_import(empty_app, tmp_path / "r.xlsx", now)
        with pytest.raises(RosterError, match="File not found"):
            run_import(empty_app, tmp_path / "missing.csv", now)


@pytest.mark.parametrize(
    ("text", "grade"),
    [
        ("3", 3),
        ("三年级", 3),
        ("12", 12),
        ("初一", 7),
        ("初三", 9),
        ("高二", 11),
        ("十二", 12),
        ("6年級", 6),
        ("0", None),
        ("13", None),
        ("初四", None),
        ("大一", None),
        ("x", None),
    ],
)
def test_grades(text: str, grade: int | None) -> None:
    assert parse_grade(text) == grade


@pytest.mark.parametrize(
    ("text", "flags", "unknown"),
    [
        ("", (), None),
        ("无", (), None),
        ("dibao,registered_poor", ("registered_poor", "dibao"), None),
        ("建档立卡，孤儿、残疾", ("registered_poor", "orphan", "disabled"), None),
        ("特困 低保", ("dibao", "tekun"), None),
        ("rich", (), "rich"),
    ],
)
def test_household_flags(text: str, flags: tuple[str, ...], unknown: str | None) -> None:
    assert parse_household(text) == (flags, unknown)


def test_decoding_prefers_utf8_then_gb18030() -> None:
    assert decode_bytes("学校".encode("utf-8-sig")) == "学校"
    assert decode_bytes("学校".encode()) == "学校"
    assert decode_bytes("学校".encode("gb18030")) == "学校"


@pytest.mark.parametrize(("pupils", "shown"), [(10, False), (2500, True)])
def test_progress_bar_on_stderr_only_for_large_files(
    pupils: int,
    shown: bool,
    empty_app: App,
    tmp_path: Path,
    now: datetime,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_csv(tmp_path / "r.csv", roster_rows(pupils))
    with transaction(empty_app.session_factory) as session, locale("en"):
        import_file(session, path, "county", now)  # stderr is not a terminal under pytest
    captured = capsys.readouterr()
    assert ("importing" in captured.err) is shown
    assert captured.out == ""


@pytest.mark.parametrize(("name", "english"), [("t.xlsx", False), ("t.csv", False), ("t.xlsx", True)])
def test_template_example_row_alone_imports_nothing(
    name: str, english: bool, empty_app: App, tmp_path: Path, now: datetime
) -> None:
    """The template's example row is marked and never imported; a file holding only it is refused."""
    from chatbot.people.roster import write_template

    write_template(tmp_path / name, english=english)
    with locale("en"), pytest.raises(RosterError) as refused:
        run_import(empty_app, tmp_path / name, now)
    assert str(refused.value) == (
        "The file has no pupils: The template's example row (row 2) was skipped, not imported. "
        "Add the pupils below it."
    )
    assert table_counts(empty_app)["Student"] == 0


def test_identity_numbers_hidden_in_cells_are_refused(empty_app: App, tmp_path: Path, now: datetime) -> None:
    """A national 学籍号 is "G" + the pupil's ID number: it must not slip in as a student number."""
    rows = roster_rows(3)
    rows[0][3] = "G620102201501011234"
    rows[2][10] = "62010220150101123X"
    with locale("en"):
        counts, errors = run_import(empty_app, write_csv(tmp_path / "ids.csv", rows), now)
    assert counts is None
    assert [(e.line, "identity-card" in e.reason) for e in errors] == [(2, True), (4, True)]
    assert "student_no" in errors[0].reason and "guardian_relation" in errors[1].reason
