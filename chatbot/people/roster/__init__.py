"""Roster import: read a school's pupil list (.csv or .xlsx), validate every row, then write it in bulk.

A file with any bad row writes nothing. Re-importing the same file changes nothing: pupils are
matched by (school, student_no), guardians and teachers by phone number.

The steps live in their own modules: read (file → headers and raw rows), validate (raw rows →
RosterRows or RowErrors), write (RosterRows → database), template (the empty file), and
importer, which runs them in order. This package re-exports what the rest of the code uses.
"""

from chatbot.people.roster.importer import import_file, load_roster, summary
from chatbot.people.roster.model import (
    COLUMNS,
    REQUIRED,
    ImportCounts,
    RosterError,
    RosterRow,
    RowError,
    bad_rows_summary,
    by_row,
)
from chatbot.people.roster.read import decode_bytes, map_headers, read_table
from chatbot.people.roster.template import write_template
from chatbot.people.roster.validate import (
    HOUSEHOLD_SYNONYMS,
    normalize_class,
    normalize_phone,
    parse_grade,
    parse_household,
    validate,
)
from chatbot.people.roster.write import resolve_region, stage_for_grade, write_roster

__all__ = [
    "COLUMNS",
    "HOUSEHOLD_SYNONYMS",
    "REQUIRED",
    "ImportCounts",
    "RosterError",
    "RosterRow",
    "RowError",
    "bad_rows_summary",
    "by_row",
    "decode_bytes",
    "import_file",
    "load_roster",
    "map_headers",
    "normalize_class",
    "normalize_phone",
    "parse_grade",
    "parse_household",
    "read_table",
    "resolve_region",
    "stage_for_grade",
    "summary",
    "validate",
    "write_roster",
    "write_template",
]
