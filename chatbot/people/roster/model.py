"""What the roster steps hand each other: the column names, a checked row, a row's error, the counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatbot.i18n import _, ngettext

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
# The template's example row starts its school cell with this mark; the reader skips such rows.
# It is a whole phrase, so no real school name can start with it.
EXAMPLE_MARK = "示例（此行不会导入）"

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
    """Why one row of the file is refused: one reason, or (grouped by row) `errors` reasons joined."""

    line: int
    reason: str
    errors: int = 1

    def __str__(self) -> str:
        if self.errors == 1:
            return _("row {line}: {reason}").format(line=self.line, reason=self.reason)
        return ngettext(
            "row {line} ({count} error): {reason}", "row {line} ({count} errors): {reason}", self.errors
        ).format(line=self.line, count=self.errors, reason=self.reason)


def by_row(errors: list[RowError]) -> list[RowError]:
    """One RowError per bad row, in file order, its reasons joined and counted."""
    reasons: dict[int, list[str]] = {}
    for error in errors:
        reasons.setdefault(error.line, []).append(error.reason)
    return [
        RowError(line, _("; ").join(texts), errors=len(texts)) if len(texts) > 1 else RowError(line, texts[0])
        for line, texts in reasons.items()
    ]


def bad_rows_summary(errors: list[RowError]) -> str:
    """'7 rows have errors, 10 errors in all: nothing was imported.' for rows grouped by by_row."""
    total = sum(e.errors for e in errors)
    rows = ngettext("{count} row has errors", "{count} rows have errors", len(errors)).format(
        count=len(errors)
    )
    found = ngettext("{count} error in all", "{count} errors in all", total).format(count=total)
    return _("{rows}, {errors}: nothing was imported.").format(rows=rows, errors=found)


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
    # Template example rows the reader left out (their line numbers); nothing was written for them.
    examples_skipped: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in vars(self).items() if isinstance(v, int)}

    @property
    def changed(self) -> bool:
        return any(v for k, v in self.as_dict().items() if k not in {"students_unchanged", "rows"})


@dataclass
class Parsed:
    """A validated file: its good rows and every error; it is written only when errors is empty."""

    rows: list[RosterRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    # Lines of template example rows (first cell "示例…"), skipped and never written.
    examples: list[int] = field(default_factory=list)
