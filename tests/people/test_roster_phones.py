"""Phone numbers in a roster import, through the real import path: files on disk, a real database.

A phone that is not a mainland mobile (or landline) is a row error and nothing is imported; a mobile
written with +86, spaces or dashes is accepted and stored as its 11 digits.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.i18n import use_locale
from chatbot.people.cli import cmd_import_roster
from chatbot.people.roster import COLUMNS
from db.models import Guardian, Person, SchoolClass, Student
from tests.people.rostergen import roster_rows, write_csv
from tests.people.test_roster import run_import, table_counts

GUARDIAN_PHONE = COLUMNS.index("guardian_phone")
TEACHER_PHONE = COLUMNS.index("class_teacher_phone")

BAD_PHONES = [
    "138123456789012",  # 15 digits
    "1381234567890",  # 13 digits
    "12345678901",  # 11 digits, but no mobile starts with 12
    "10012345678",  # 11 digits starting with 10
    "1381234abcd",  # letters
    "138-ABCD-5678",  # letters between dashes
    "+86 12345678901",  # +86 in front of a non-mobile
]
GOOD_PHONES = [
    ("+8613800001111", "13800001111"),
    ("+86 13800001111", "13800001111"),
    ("+86 138 0000 1111", "13800001111"),
    ("138 0000 1111", "13800001111"),
    (" 13800001111 ", "13800001111"),
    ("+86-138-0000-1111", "13800001111"),
]


def nothing_imported(app: App) -> bool:
    return all(count == 0 for count in table_counts(app).values())


@pytest.mark.parametrize("phone", BAD_PHONES)
@pytest.mark.parametrize("column", ["guardian_phone", "class_teacher_phone"])
def test_a_bad_phone_is_a_row_error_and_nothing_is_imported(
    empty_app: App, tmp_path: Path, now: datetime, phone: str, column: str
) -> None:
    rows = roster_rows(5, seed=11)
    rows[2][COLUMNS.index(column)] = phone  # spreadsheet row 4 (row 1 is the header)
    with use_locale("en"):
        counts, errors = run_import(empty_app, write_csv(tmp_path / "bad.csv", rows), now)
        messages = [str(e) for e in errors]
    assert counts is None
    assert messages == [f"row 4: {column} {phone!r} is not a phone number"]
    assert nothing_imported(empty_app)


@pytest.mark.parametrize(("written", "stored"), GOOD_PHONES)
def test_a_mobile_with_plus86_or_spaces_is_accepted_as_its_digits(
    empty_app: App, tmp_path: Path, now: datetime, written: str, stored: str
) -> None:
    rows = roster_rows(5, seed=11)
    rows[2][GUARDIAN_PHONE] = written
    guardian_name = rows[2][COLUMNS.index("guardian_name")]
    pupil_no = rows[2][COLUMNS.index("student_no")]
    counts, errors = run_import(empty_app, write_csv(tmp_path / "good.csv", rows), now)
    assert errors == []
    assert counts is not None and counts.students_created == 5
    with empty_app.session_factory() as s:
        person = s.scalars(select(Person).where(Person.phone == stored)).one()
        assert person.name == guardian_name
        children = s.scalars(
            select(Student.student_no).join(Guardian).where(Guardian.person_id == person.id)
        ).all()
        assert children == [pupil_no]
        # Nobody is stored under the phone as written.
        assert s.scalars(select(Person).where(Person.phone == written)).first() is None


def test_import_roster_command_refuses_a_file_with_bad_phones_and_accepts_it_fixed(
    empty_app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = roster_rows(6, seed=5)
    rows[0][GUARDIAN_PHONE] = "138123456789012"
    rows[3][GUARDIAN_PHONE] = "13812345X78"
    rows[5][TEACHER_PHONE] = "12812345678"
    path = write_csv(tmp_path / "roster.csv", rows)
    args = argparse.Namespace(file=path, region="test-county", progress=False)
    with use_locale("en"):
        assert cmd_import_roster(args, empty_app) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "row 2: guardian_phone '138123456789012' is not a phone number",
        "row 5: guardian_phone '13812345X78' is not a phone number",
        "row 7: class_teacher_phone '12812345678' is not a phone number",
        "3 rows have errors, 3 errors in all: nothing was imported.",
    ]
    assert nothing_imported(empty_app)

    rows[0][GUARDIAN_PHONE] = "+86 138 1234 5678"
    rows[3][GUARDIAN_PHONE] = "+86-139-8765-4321"
    # Pupils 3 and 6 share a class: its teacher's phone, the second time written with +86 and spaces.
    teacher = rows[2][TEACHER_PHONE]
    rows[5][TEACHER_PHONE] = f"+86 {teacher[:3]} {teacher[3:7]} {teacher[7:]}"
    write_csv(path, rows)
    with use_locale("en"):
        assert cmd_import_roster(args, empty_app) == 0
    assert capsys.readouterr().err == ""
    with empty_app.session_factory() as s:
        phones = set(s.scalars(select(Person.phone)))
        assert {"13812345678", "13987654321", teacher} <= phones
        klass = s.scalars(select(SchoolClass).join(Student).where(Student.student_no == rows[5][3])).one()
        assert klass.class_teacher is not None and klass.class_teacher.phone == teacher
    assert table_counts(empty_app)["Student"] == 6
