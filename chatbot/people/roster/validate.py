"""Validating a roster: raw rows in, normalized RosterRows or every RowError out.

Every row is checked in full, so one run lists all of a file's problems.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chatbot.i18n import _
from chatbot.people.roster.model import EXAMPLE_MARK, REQUIRED, Parsed, RawRow, RosterRow, RowError
from chatbot.people.roster.read import cell_text, map_headers
from db.models import HOUSEHOLD_FLAGS

HOUSEHOLD_SYNONYMS: dict[str, str] = {
    **{flag: flag for flag in HOUSEHOLD_FLAGS},
    "建档立卡": "registered_poor",
    "建檔立卡": "registered_poor",
    "建档立卡户": "registered_poor",
    "建檔立卡戶": "registered_poor",
    "贫困户": "registered_poor",
    "貧困戶": "registered_poor",
    "低保": "dibao",
    "低保户": "dibao",
    "低保戶": "dibao",
    "特困": "tekun",
    "特困供养": "tekun",
    "特困供養": "tekun",
    "孤儿": "orphan",
    "孤兒": "orphan",
    "残疾": "disabled",
    "殘疾": "disabled",
    "残疾学生": "disabled",
    "殘疾學生": "disabled",
}
# The example row of templates written before it was marked: pupil 0301001 马小花, guardian 13800001111.
UNMARKED_EXAMPLE = {"student_no": "0301001", "student_name": "马小花", "guardian_phone": "13800001111"}
NO_HOUSEHOLD = {"", "无", "無", "none", "-", "/"}
YES = {"是", "yes", "y", "true", "1", "住校", "寄宿", "x", "✓", "√"}
NO = {"否", "no", "n", "false", "0", "走读", "走讀", ""}
GENDERS = {"男": "男", "m": "男", "male": "男", "女": "女", "f": "女", "female": "女", "": ""}
CN_NUMBERS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
# A resident ID number (optionally behind the G/L/J of a national 学籍号): area, birth date, serial, check.
ID_NUMBER = re.compile(r"[GLJglj]?\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]")
PHONE = re.compile(r"^(?:1[3-9]\d{9}|0\d{9,11})$")
# Longest text each column may hold: the database column sizes.
STUDENT_LIMITS = (("school", 200), ("class", 64), ("student_no", 32), ("student_name", 100))
CONTACT_NAME_LIMIT = 100
RELATION_LIMIT = 32

# A column name → how the file's header spells it.
Label = Callable[[str], str]


def parse_grade(text: str) -> int | None:
    """1–12 from "3", "3年级", "三年级", "初一" (7) or "高二" (11)."""
    value = text.strip().removesuffix("年级").removesuffix("年級").strip()
    offset = 0
    if value[:1] in {"初", "高"}:
        offset = 6 if value[0] == "初" else 9
        value = value[1:]
    if value.isdecimal():
        number = int(value)
    elif value in CN_NUMBERS:
        number = CN_NUMBERS[value]
    elif value in {"十一", "十二"}:
        number = 10 + CN_NUMBERS[value[1]]
    else:
        return None
    if offset and not 1 <= number <= 3:
        return None
    number += offset
    return number if 1 <= number <= 12 else None


def normalize_class(text: str) -> str:
    """A bare number means "N班", so "1" and "1班" are the same class."""
    value = text.strip()
    return f"{int(value)}班" if value.isdecimal() else value


def normalize_phone(text: str) -> str:
    """The digits of a phone number, without spaces, dashes, brackets or the +86 country code."""
    digits = re.sub(r"[\s\-()（）]", "", text)
    if digits.startswith("+86"):
        digits = digits[3:]
    return digits


def parse_household(text: str) -> tuple[tuple[str, ...], str | None]:
    """Flags in HOUSEHOLD_FLAGS order, or the first unknown word."""
    flags: set[str] = set()
    for part in re.split(r"[,，、;；/|\s]+", text.strip()):
        word = part.strip()
        if word.lower() in NO_HOUSEHOLD:
            continue
        flag = HOUSEHOLD_SYNONYMS.get(word) or HOUSEHOLD_SYNONYMS.get(word.lower())
        if flag is None:
            return (), word
        flags.add(flag)
    return tuple(f for f in HOUSEHOLD_FLAGS if f in flags), None


def validate(
    headers: Sequence[str], rows: Iterable[RawRow], progress: Callable[[], None] | None = None
) -> Parsed:
    """Check every row and collect every error; valid rows come back normalized."""
    columns = map_headers(headers)
    # Errors name columns as the file spells them, so a Chinese sheet gets Chinese column names.
    labels = {name: headers[index].strip().lstrip("\ufeff") for name, index in columns.items()}
    parsed = Parsed()
    seen = _EarlierRows()
    for line, values in rows:
        if progress:
            progress()
        cells = {name: cell_text(values[i]) if i < len(values) else "" for name, i in columns.items()}
        if not any(cells.values()):
            continue
        if is_example(cells):
            parsed.examples.append(line)
            continue
        row, reasons = _check_row(line, cells, labels)
        if row is not None:
            reasons.extend(seen.conflicts(row))
        if reasons:
            parsed.errors.extend(RowError(line, reason) for reason in reasons)
            continue
        assert row is not None
        seen.accept(row)
        parsed.rows.append(row)
    return parsed


def is_example(cells: dict[str, str]) -> bool:
    """The template's example row, marked or (from an older template) unmarked: never imported."""
    if cells.get("school", "").startswith(EXAMPLE_MARK):
        return True
    return all(cells.get(name) == value for name, value in UNMARKED_EXAMPLE.items())


@dataclass
class _EarlierRows:
    """What the rows before this one said, so a row contradicting them is refused."""

    # The accepted rows by (school, student_no): one pupil may have several rows, one per guardian.
    students: dict[tuple[str, str], RosterRow] = field(default_factory=dict)
    guardians: set[tuple[str, str, str]] = field(default_factory=set)
    # (school, grade, class) → (teacher phone, line). The first otherwise valid row that names a
    # teacher claims the class, even if it is refused as a duplicate pupil.
    class_teachers: dict[tuple[str, int, str], tuple[str, int]] = field(default_factory=dict)

    def conflicts(self, row: RosterRow) -> list[str]:
        """Why this row contradicts earlier rows, if it does; also claims its class teacher."""
        reasons: list[str] = []
        earlier = self.students.get((row.school, row.student_no))
        if earlier is not None and _pupil_fields(earlier) != _pupil_fields(row):
            reasons.append(
                _("student number {number} is already used by row {row} for different pupil data").format(
                    number=row.student_no, row=earlier.line
                )
            )
        elif earlier is not None and (row.school, row.student_no, row.guardian_phone) in self.guardians:
            reasons.append(
                _("row {row} already lists this pupil with this guardian").format(row=earlier.line)
            )
        if row.teacher_phone:
            class_key = (row.school, row.grade, row.klass)
            teacher = self.class_teachers.setdefault(class_key, (row.teacher_phone, row.line))
            if teacher[0] != row.teacher_phone:
                reasons.append(
                    _("row {row} names another class teacher for this class").format(row=teacher[1])
                )
        return reasons

    def accept(self, row: RosterRow) -> None:
        """Remember a row that passed every check."""
        self.students.setdefault((row.school, row.student_no), row)
        self.guardians.add((row.school, row.student_no, row.guardian_phone))


def _pupil_fields(row: RosterRow) -> tuple[Any, ...]:
    """What two rows of the same pupil must agree on: a pupil has one row per guardian."""
    return (row.grade, row.klass, row.student_name, row.gender, row.boarding, row.household)


def _check_row(
    line: int, cells: dict[str, str], labels: dict[str, str]
) -> tuple[RosterRow | None, list[str]]:
    """The row normalized, or None and every reason to refuse it, in the order the checks run."""

    def label(column: str) -> str:
        return labels.get(column, column)

    reasons: list[str] = []
    _refuse_identity_numbers(cells, label, reasons)
    _require_cells(cells, label, reasons)
    grade = _grade(cells, reasons)
    _limit_lengths(cells, label, reasons)
    gender = _gender(cells, reasons)
    boarding = _boarding(cells, reasons)
    household = _household(cells, reasons)
    guardian = _contact("guardian", cells, label, reasons)
    teacher = _contact("class_teacher", cells, label, reasons)
    relation = _relation(cells, label, reasons)
    if reasons or grade is None or gender is None:
        return None, reasons
    row = RosterRow(
        line=line,
        school=cells["school"],
        grade=grade,
        klass=normalize_class(cells["class"]),
        student_no=cells["student_no"],
        student_name=cells["student_name"],
        gender=gender,
        boarding=boarding,
        household=household,
        guardian_name=guardian[0],
        guardian_phone=guardian[1],
        guardian_relation=relation,
        teacher_name=teacher[0],
        teacher_phone=teacher[1],
    )
    return row, []


def _refuse_identity_numbers(cells: dict[str, str], label: Label, reasons: list[str]) -> None:
    """Refuse any cell holding an identity-card number, whatever its column: none may be stored."""
    for column, value in cells.items():
        if ID_NUMBER.search(value):
            reasons.append(
                _(
                    "{column} holds an identity-card number, which must never be stored: "
                    "use the school's own student number instead"
                ).format(column=label(column))
            )


def _require_cells(cells: dict[str, str], label: Label, reasons: list[str]) -> None:
    """Refuse empty required cells."""
    for column in REQUIRED:
        if not cells.get(column):
            reasons.append(_("{column} is empty").format(column=label(column)))


def _grade(cells: dict[str, str], reasons: list[str]) -> int | None:
    """The grade 1–12, or None if empty (already refused as such) or not a grade."""
    grade = parse_grade(cells.get("grade", "")) if cells.get("grade") else None
    if cells.get("grade") and grade is None:
        reasons.append(_("grade {value!r} is not a grade from 1 to 12").format(value=cells["grade"]))
    return grade


def _limit_lengths(cells: dict[str, str], label: Label, reasons: list[str]) -> None:
    """Refuse school, class and pupil cells too long for their database columns."""
    for column, limit in STUDENT_LIMITS:
        if len(cells.get(column, "")) > limit:
            reasons.append(
                _("{column} is longer than {limit} characters").format(column=label(column), limit=limit)
            )


def _gender(cells: dict[str, str], reasons: list[str]) -> str | None:
    """男, 女 or "" (not given), or None if the cell is something else."""
    gender = GENDERS.get(cells.get("gender", "").lower())
    if gender is None:
        reasons.append(_("gender {value!r} is not 男 or 女").format(value=cells["gender"]))
    return gender


def _boarding(cells: dict[str, str], reasons: list[str]) -> bool:
    """Whether the pupil boards; an empty cell means no."""
    boarding_text = cells.get("boarding", "").lower()
    if boarding_text not in YES | NO:
        reasons.append(_("boarding {value!r} is not 是 or 否").format(value=cells["boarding"]))
    return boarding_text in YES


def _household(cells: dict[str, str], reasons: list[str]) -> tuple[str, ...]:
    """The household flags, refusing the first word that is not one."""
    household, unknown = parse_household(cells.get("household", ""))
    if unknown is not None:
        reasons.append(
            _("household flag {value!r} is unknown (use {flags})").format(
                value=unknown, flags=", ".join(HOUSEHOLD_FLAGS)
            )
        )
    return household


def _contact(who: str, cells: dict[str, str], label: Label, reasons: list[str]) -> tuple[str, str]:
    """(name, normalized phone) of the guardian or class teacher; name and phone come together or not at all."""
    name = cells.get(f"{who}_name", "")
    phone = normalize_phone(cells.get(f"{who}_phone", ""))
    if name and not phone:
        reasons.append(_("{column} is empty").format(column=label(f"{who}_phone")))
    elif phone and not name:
        reasons.append(_("{column} is empty").format(column=label(f"{who}_name")))
    elif phone and not PHONE.match(phone):
        reasons.append(
            _("{column} {value!r} is not a phone number").format(
                column=label(f"{who}_phone"), value=cells[f"{who}_phone"]
            )
        )
    elif len(name) > CONTACT_NAME_LIMIT:
        reasons.append(
            _("{column} is longer than {limit} characters").format(
                column=label(f"{who}_name"), limit=CONTACT_NAME_LIMIT
            )
        )
    return name, phone


def _relation(cells: dict[str, str], label: Label, reasons: list[str]) -> str:
    """How the guardian is related to the pupil (free text, may be empty)."""
    relation = cells.get("guardian_relation", "")
    if len(relation) > RELATION_LIMIT:
        reasons.append(
            _("{column} is longer than {limit} characters").format(
                column=label("guardian_relation"), limit=RELATION_LIMIT
            )
        )
    return relation
