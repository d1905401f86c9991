"""What the roster steps hand each other: the column names, a checked row, a row's error, the counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatbot.i18n import _

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

# A data row as read from the file: its line number as the spreadsheet shows it, and its raw cells.
RawRow = tuple[int, list[Any]]


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
    """One reason one row of the file is refused."""

    line: int
    reason: str

    def __str__(self) -> str:
        return _("row {line}: {reason}").format(line=self.line, reason=self.reason)


@dataclass
class ImportCounts:
    """What an import changed, for the operator's summary and the audit log."""

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
    """A validated file: its good rows and every error; it is written only when errors is empty."""

    rows: list[RosterRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
