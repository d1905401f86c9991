"""Roster import: read a school's pupil list (.csv or .xlsx), validate every row, then write it in bulk.

A file with any bad row writes nothing. Re-importing the same file changes nothing: pupils are
matched by (school, student_no), guardians and teachers by phone number.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import delete, insert, select, tuple_, update
from sqlalchemy.orm import Session
from tqdm import tqdm

from chatbot.i18n import _
from db.models import (
    HOUSEHOLD_FLAGS,
    AuditLog,
    Guardian,
    Membership,
    Person,
    Region,
    Role,
    School,
    SchoolClass,
    ScopeType,
    Stage,
    Student,
)

COLUMNS = (
    "school",
    "grade",
    "class",
    "student_no",
    "student_name",
    "gender",
    "boarding",
    "household",
    "guardian_name",
    "guardian_phone",
    "guardian_relation",
    "class_teacher_name",
    "class_teacher_phone",
)
REQUIRED = ("school", "grade", "class", "student_no", "student_name")

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
NO_HOUSEHOLD = {"", "无", "無", "none", "-", "/"}
YES = {"是", "yes", "y", "true", "1", "住校", "寄宿", "x", "✓", "√"}
NO = {"否", "no", "n", "false", "0", "走读", "走讀", ""}
GENDERS = {"男": "男", "m": "男", "male": "男", "女": "女", "f": "女", "female": "女", "": ""}
CN_NUMBERS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
# A resident ID number (optionally behind the G/L/J of a national 学籍号): area, birth date, serial, check.
ID_NUMBER = re.compile(r"[GLJglj]?\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]")
PHONE = re.compile(r"^(?:1[3-9]\d{9}|0\d{9,11})$")
LARGE_FILE_ROWS = 2000
CHUNK = 500


class RosterError(Exception):
    """The file cannot be read at all (format, encoding, headers); the message is translated."""


@dataclass(frozen=True)
class RosterRow:
    """One valid row, normalized."""

    line: int
    school: str
    grade: int
    klass: str
    student_no: str
    student_name: str
    gender: str
    boarding: bool
    household: tuple[str, ...]
    guardian_name: str
    guardian_phone: str
    guardian_relation: str
    teacher_name: str
    teacher_phone: str


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return _("row {line}: {reason}").format(line=self.line, reason=self.reason)


@dataclass
class ImportCounts:
    schools_created: int = 0
    classes_created: int = 0
    students_created: int = 0
    students_updated: int = 0
    students_unchanged: int = 0
    people_created: int = 0
    people_updated: int = 0
    guardian_links_added: int = 0
    guardian_links_removed: int = 0
    teacher_changes: int = 0
    rows: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))

    @property
    def changed(self) -> bool:
        return any(v for k, v in vars(self).items() if k not in {"students_unchanged", "rows"})


@dataclass
class Parsed:
    rows: list[RosterRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


# --- reading -------------------------------------------------------------------------------------

RawRow = tuple[int, list[Any]]


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
    text = decode_bytes(path.read_bytes())
    first_line = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count)
    lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not lines:
        raise RosterError(_("The file is empty."))
    body = [(number, list(row)) for number, row in enumerate(lines[1:], start=2)]
    return [str(h) for h in lines[0]], iter(body), len(body)


def _read_xlsx(path: Path) -> tuple[list[str], Iterator[RawRow], int]:
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


# --- validation ----------------------------------------------------------------------------------


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
    seen_student: dict[tuple[str, str], RosterRow] = {}
    seen_guardian: set[tuple[str, str, str]] = set()
    class_teacher: dict[tuple[str, int, str], tuple[str, int]] = {}
    for line, values in rows:
        if progress:
            progress()
        cells = {name: cell_text(values[i]) if i < len(values) else "" for name, i in columns.items()}
        if not any(cells.values()):
            continue
        row, reasons = _check_row(line, cells, labels)
        if row is not None:
            student_key = (row.school, row.student_no)
            earlier = seen_student.get(student_key)
            if earlier is not None and _pupil_fields(earlier) != _pupil_fields(row):
                reasons.append(
                    _("student number {number} is already used by row {row} for different pupil data").format(
                        number=row.student_no, row=earlier.line
                    )
                )
            elif earlier is not None and (row.school, row.student_no, row.guardian_phone) in seen_guardian:
                reasons.append(
                    _("row {row} already lists this pupil with this guardian").format(row=earlier.line)
                )
            if row.teacher_phone:
                class_key = (row.school, row.grade, row.klass)
                teacher = class_teacher.setdefault(class_key, (row.teacher_phone, line))
                if teacher[0] != row.teacher_phone:
                    reasons.append(
                        _("row {row} names another class teacher for this class").format(row=teacher[1])
                    )
        if reasons:
            parsed.errors.extend(RowError(line, reason) for reason in reasons)
            continue
        assert row is not None
        seen_student.setdefault((row.school, row.student_no), row)
        seen_guardian.add((row.school, row.student_no, row.guardian_phone))
        parsed.rows.append(row)
    return parsed


def _pupil_fields(row: RosterRow) -> tuple[Any, ...]:
    return (row.grade, row.klass, row.student_name, row.gender, row.boarding, row.household)


def _check_row(
    line: int, cells: dict[str, str], labels: dict[str, str]
) -> tuple[RosterRow | None, list[str]]:
    reasons: list[str] = []

    def label(column: str) -> str:
        return labels.get(column, column)

    for column, value in cells.items():
        if ID_NUMBER.search(value):
            reasons.append(
                _(
                    "{column} holds an identity-card number, which must never be stored: "
                    "use the school's own student number instead"
                ).format(column=label(column))
            )

    for column in REQUIRED:
        if not cells.get(column):
            reasons.append(_("{column} is empty").format(column=label(column)))
    grade = parse_grade(cells.get("grade", "")) if cells.get("grade") else None
    if cells.get("grade") and grade is None:
        reasons.append(_("grade {value!r} is not a grade from 1 to 12").format(value=cells["grade"]))
    for column, limit in (("school", 200), ("class", 64), ("student_no", 32), ("student_name", 100)):
        if len(cells.get(column, "")) > limit:
            reasons.append(
                _("{column} is longer than {limit} characters").format(column=label(column), limit=limit)
            )
    gender = GENDERS.get(cells.get("gender", "").lower())
    if gender is None:
        reasons.append(_("gender {value!r} is not 男 or 女").format(value=cells["gender"]))
    boarding_text = cells.get("boarding", "").lower()
    if boarding_text not in YES | NO:
        reasons.append(_("boarding {value!r} is not 是 or 否").format(value=cells["boarding"]))
    household, unknown = parse_household(cells.get("household", ""))
    if unknown is not None:
        reasons.append(
            _("household flag {value!r} is unknown (use {flags})").format(
                value=unknown, flags=", ".join(HOUSEHOLD_FLAGS)
            )
        )
    people: dict[str, tuple[str, str]] = {}
    for who in ("guardian", "class_teacher"):
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
        elif len(name) > 100:
            reasons.append(
                _("{column} is longer than {limit} characters").format(column=label(f"{who}_name"), limit=100)
            )
        people[who] = (name, phone)
    relation = cells.get("guardian_relation", "")
    if len(relation) > 32:
        reasons.append(
            _("{column} is longer than {limit} characters").format(
                column=label("guardian_relation"), limit=32
            )
        )
    if reasons or grade is None or gender is None:
        return None, reasons
    return (
        RosterRow(
            line=line,
            school=cells["school"],
            grade=grade,
            klass=normalize_class(cells["class"]),
            student_no=cells["student_no"],
            student_name=cells["student_name"],
            gender=gender,
            boarding=boarding_text in YES,
            household=household,
            guardian_name=people["guardian"][0],
            guardian_phone=people["guardian"][1],
            guardian_relation=relation,
            teacher_name=people["class_teacher"][0],
            teacher_phone=people["class_teacher"][1],
        ),
        [],
    )


# --- writing -------------------------------------------------------------------------------------


def stage_for_grade(grade: int) -> Stage:
    return Stage.PRIMARY if grade <= 6 else Stage.JUNIOR if grade <= 9 else Stage.SENIOR


def resolve_region(session: Session, code: str | None) -> Region:
    """The region named by code (created if new), else the only region; raises RosterError otherwise."""
    if code:
        region = session.scalars(select(Region).where(Region.code == code)).one_or_none()
        if region is None:
            region = Region(code=code, name=code, timezone="Asia/Shanghai", settings={})
            session.add(region)
            session.flush()
        return region
    regions = list(session.scalars(select(Region).limit(2)))
    if len(regions) == 1:
        return regions[0]
    if not regions:
        raise RosterError(_("There is no region yet: pass --region CODE to create one."))
    raise RosterError(_("There are several regions: pass --region CODE to choose one."))


T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def write_roster(
    session: Session,
    region: Region,
    rows: Sequence[RosterRow],
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> ImportCounts:
    """Upsert schools, classes, people, pupils, guardian links and class teachers, set-based."""
    counts = ImportCounts(rows=len(rows))
    tick = progress or (lambda n: None)
    schools = _upsert_schools(session, region, rows, counts)
    classes = _upsert_classes(session, schools, rows, counts)
    people = _upsert_people(session, rows, now, counts)
    tick(len(rows) // 4)
    students = _upsert_students(session, schools, classes, rows, counts, tick)
    _sync_guardians(session, schools, students, people, rows, counts)
    _sync_class_teachers(session, schools, classes, people, rows, counts)
    session.add(
        AuditLog(
            at=now,
            actor_person_id=None,
            action="roster.import",
            target=f"region:{region.id}",
            details=counts.as_dict(),
        )
    )
    session.flush()
    return counts


def _upsert_schools(
    session: Session, region: Region, rows: Sequence[RosterRow], counts: ImportCounts
) -> dict[str, int]:
    names = {row.school for row in rows}
    existing = {
        s.name: s.id
        for s in session.scalars(select(School).where(School.region_id == region.id, School.name.in_(names)))
    }
    lowest: dict[str, int] = {}
    for row in rows:
        lowest[row.school] = min(lowest.get(row.school, 99), row.grade)
    for name in sorted(names - existing.keys()):
        school = School(region_id=region.id, name=name, stage=stage_for_grade(lowest[name]))
        session.add(school)
        session.flush()
        existing[name] = school.id
        counts.schools_created += 1
    return existing


ClassKey = tuple[int, int, str]


def _upsert_classes(
    session: Session, schools: dict[str, int], rows: Sequence[RosterRow], counts: ImportCounts
) -> dict[ClassKey, int]:
    existing = {
        (c.school_id, c.grade, c.name): c.id
        for c in session.scalars(select(SchoolClass).where(SchoolClass.school_id.in_(schools.values())))
    }
    wanted = {(schools[row.school], row.grade, row.klass) for row in rows}
    new = sorted(wanted - existing.keys())
    if new:
        session.execute(insert(SchoolClass), [{"school_id": s, "grade": g, "name": n} for s, g, n in new])
        counts.classes_created += len(new)
        existing = {
            (c.school_id, c.grade, c.name): c.id
            for c in session.scalars(select(SchoolClass).where(SchoolClass.school_id.in_(schools.values())))
        }
    return existing


def _upsert_people(
    session: Session, rows: Sequence[RosterRow], now: datetime, counts: ImportCounts
) -> dict[str, int]:
    """Phone → person id; the first name a phone appears with in the file wins."""
    names: dict[str, str] = {}
    for row in rows:
        if row.teacher_phone:
            names.setdefault(row.teacher_phone, row.teacher_name)
        if row.guardian_phone:
            names.setdefault(row.guardian_phone, row.guardian_name)
    found = _people_by_phone(session, list(names))
    renamed = [
        {"id": pid, "name": names[phone]} for phone, (pid, name) in found.items() if name != names[phone]
    ]
    if renamed:
        session.execute(update(Person), renamed)
        counts.people_updated += len(renamed)
    new = [phone for phone in names if phone not in found]
    for part in chunks(new):
        session.execute(
            insert(Person), [{"name": names[phone], "phone": phone, "created_at": now} for phone in part]
        )
    counts.people_created += len(new)
    if new:
        found.update(_people_by_phone(session, new))
    return {phone: pid for phone, (pid, _name) in found.items()}


def _people_by_phone(session: Session, phones: Sequence[str]) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    for part in chunks(phones):
        for pid, phone, name in session.execute(
            select(Person.id, Person.phone, Person.name).where(Person.phone.in_(part)).order_by(Person.id)
        ):
            found.setdefault(str(phone), (pid, name))
    return found


def _upsert_students(
    session: Session,
    schools: dict[str, int],
    classes: dict[ClassKey, int],
    rows: Sequence[RosterRow],
    counts: ImportCounts,
    tick: Callable[[int], None],
) -> dict[tuple[int, str], int]:
    wanted: dict[tuple[int, str], dict[str, Any]] = {}
    for row in rows:
        school_id = schools[row.school]
        wanted.setdefault(
            (school_id, row.student_no),
            {
                "school_id": school_id,
                "class_id": classes[(school_id, row.grade, row.klass)],
                "student_no": row.student_no,
                "name": row.student_name,
                "gender": row.gender or None,
                "boarding": row.boarding,
                "household": list(row.household),
                "active": True,
            },
        )
    school_ids = sorted({school_id for school_id, _number in wanted})
    existing = _students(session, school_ids)
    updates: list[dict[str, Any]] = []
    for key, values in wanted.items():
        current = existing.get(key)
        if current is None:
            continue
        student_id, *fields = current
        if tuple(fields) == tuple(values[f] for f in STUDENT_FIELDS):
            counts.students_unchanged += 1
        else:
            updates.append({"id": student_id, **{f: values[f] for f in STUDENT_FIELDS}})
    for part in chunks(updates):
        session.execute(update(Student), list(part))
    counts.students_updated += len(updates)
    tick(len(rows) // 4)
    new = [values for key, values in wanted.items() if key not in existing]
    for part in chunks(new):
        session.execute(insert(Student), list(part))
    counts.students_created += len(new)
    tick(len(rows) // 4)
    ids = {key: value[0] for key, value in existing.items()}
    if new:
        query = select(Student.school_id, Student.student_no, Student.id).where(
            Student.school_id.in_(school_ids)
        )
        ids = {(school_id, number): student_id for school_id, number, student_id in session.execute(query)}
    return ids


STUDENT_FIELDS = ("class_id", "name", "gender", "boarding", "household", "active")


def _students(session: Session, school_ids: Sequence[int]) -> dict[tuple[int, str], tuple[Any, ...]]:
    """Every pupil of the schools in the file, in one query per school: cheaper than IN lists of numbers."""
    found: dict[tuple[int, str], tuple[Any, ...]] = {}
    columns = [getattr(Student, f) for f in STUDENT_FIELDS]
    for school_id in school_ids:
        query = select(Student.school_id, Student.student_no, Student.id, *columns).where(
            Student.school_id == school_id
        )
        for school, number, *rest in session.execute(query):
            rest[5] = list(rest[5] or [])  # id, then STUDENT_FIELDS: household is 5th
            found[(school, number)] = tuple(rest)
    return found


def _sync_guardians(
    session: Session,
    schools: dict[str, int],
    students: dict[tuple[int, str], int],
    people: dict[str, int],
    rows: Sequence[RosterRow],
    counts: ImportCounts,
) -> None:
    """For each pupil with guardians in the file, the file's guardians become the whole list."""
    wanted: dict[int, dict[int, str | None]] = defaultdict(dict)
    for row in rows:
        if row.guardian_phone:
            student_id = students[(schools[row.school], row.student_no)]
            wanted[student_id][people[row.guardian_phone]] = row.guardian_relation or None
    current: dict[int, dict[int, str | None]] = defaultdict(dict)
    for part in chunks(list(wanted)):
        for person_id, student_id, relation in session.execute(
            select(Guardian.person_id, Guardian.student_id, Guardian.relation).where(
                Guardian.student_id.in_(part)
            )
        ):
            current[student_id][person_id] = relation
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    gone: list[tuple[int, int]] = []
    for student_id, guardians in wanted.items():
        have = current.get(student_id, {})
        for person_id, relation in guardians.items():
            if person_id not in have:
                new.append({"person_id": person_id, "student_id": student_id, "relation": relation})
            elif have[person_id] != relation:
                changed.append({"person_id": person_id, "student_id": student_id, "relation": relation})
        gone.extend((person_id, student_id) for person_id in have if person_id not in guardians)
    for batch in chunks(new):
        session.execute(insert(Guardian), list(batch))
    for batch in chunks(changed):
        session.execute(update(Guardian), list(batch))
    for pairs in chunks(gone):
        session.execute(
            delete(Guardian).where(tuple_(Guardian.person_id, Guardian.student_id).in_(list(pairs)))
        )
    counts.guardian_links_added += len(new)
    counts.guardian_links_removed += len(gone)
    counts.people_updated += len(changed)


def _sync_class_teachers(
    session: Session,
    schools: dict[str, int],
    classes: dict[ClassKey, int],
    people: dict[str, int],
    rows: Sequence[RosterRow],
    counts: ImportCounts,
) -> None:
    """The file's class teacher of a class replaces the previous one (class and membership)."""
    wanted: dict[int, int] = {}
    for row in rows:
        if row.teacher_phone:
            school_id = schools[row.school]
            wanted[classes[(school_id, row.grade, row.klass)]] = people[row.teacher_phone]
    if not wanted:
        return
    class_ids = list(wanted)
    current_teacher = {
        class_id: teacher_id
        for class_id, teacher_id in session.execute(
            select(SchoolClass.id, SchoolClass.class_teacher_id).where(SchoolClass.id.in_(class_ids))
        )
    }
    memberships: dict[int, set[int]] = defaultdict(set)
    for person_id, class_id in session.execute(
        select(Membership.person_id, Membership.scope_id).where(
            Membership.role == Role.CLASS_TEACHER,
            Membership.scope_type == ScopeType.CLASS,
            Membership.scope_id.in_(class_ids),
        )
    ):
        memberships[class_id].add(person_id)
    for class_id, person_id in wanted.items():
        holders = memberships.get(class_id, set())
        if current_teacher.get(class_id) != person_id or holders != {person_id}:
            counts.teacher_changes += 1
        if current_teacher.get(class_id) != person_id:
            session.execute(
                update(SchoolClass).where(SchoolClass.id == class_id).values(class_teacher_id=person_id)
            )
        if holders != {person_id}:
            session.execute(
                delete(Membership).where(
                    Membership.role == Role.CLASS_TEACHER,
                    Membership.scope_type == ScopeType.CLASS,
                    Membership.scope_id == class_id,
                    Membership.person_id != person_id,
                )
            )
            if person_id not in holders:
                session.add(
                    Membership(
                        person_id=person_id,
                        role=Role.CLASS_TEACHER,
                        scope_type=ScopeType.CLASS,
                        scope_id=class_id,
                    )
                )


def summary(counts: ImportCounts) -> str:
    """The operator's one-paragraph report of what an import did."""
    return _(
        "{rows} rows: {students_created} pupils added, {students_updated} updated, "
        "{students_unchanged} unchanged; {schools_created} schools and {classes_created} classes added; "
        "{people_created} people added, {people_updated} updated; {guardian_links_added} guardian links "
        "added, {guardian_links_removed} removed; {teacher_changes} class-teacher changes."
    ).format(**counts.as_dict())


def load_roster(path: Path, show_progress: bool | None = None) -> Parsed:
    """Read and validate a whole file; the progress bar goes to stderr for large files or a terminal."""
    headers, rows, estimate = read_table(path)
    if show_progress is None:
        show_progress = sys.stderr.isatty() or estimate >= LARGE_FILE_ROWS
    with tqdm(
        total=estimate,
        desc=_("checking"),
        unit=_("rows"),
        disable=not show_progress,
        file=sys.stderr,
        mininterval=0.5,
    ) as bar:
        return validate(headers, rows, progress=lambda: bar.update(1))


def import_file(
    session: Session, path: Path, region_code: str | None, now: datetime, show_progress: bool | None = None
) -> tuple[ImportCounts | None, list[RowError]]:
    """Validate the file, then write it all or nothing; returns the counts or every bad row."""
    parsed = load_roster(path, show_progress)
    if parsed.errors:
        return None, parsed.errors
    if not parsed.rows:
        raise RosterError(_("The file has no pupils."))
    region = resolve_region(session, region_code)
    if show_progress is None:
        show_progress = sys.stderr.isatty() or len(parsed.rows) >= LARGE_FILE_ROWS
    with tqdm(
        total=len(parsed.rows),
        desc=_("importing"),
        unit=_("rows"),
        disable=not show_progress,
        file=sys.stderr,
    ) as bar:
        counts = write_roster(session, region, parsed.rows, now, progress=bar.update)
        bar.update(max(bar.total - bar.n, 0))
    return counts, []


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
    "红旗小学",
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
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(headers)
    sheet.append(list(EXAMPLE_ROW))
    for name in TEXT_COLUMNS:
        letter = get_column_letter(COLUMNS.index(name) + 1)
        # Text format keeps leading zeros in 学号 and stops phones turning into 1.38E+10.
        for row in range(1, 2001):
            sheet[f"{letter}{row}"].number_format = "@"
    workbook.save(path)
