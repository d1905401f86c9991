"""The whole import: read and validate a file (with a progress bar), then write it all or nothing."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session
from tqdm import tqdm

from chatbot.i18n import _, ngettext
from chatbot.people.roster.model import ImportCounts, Parsed, RosterError, RowError, by_row
from chatbot.people.roster.read import read_table
from chatbot.people.roster.validate import validate
from chatbot.people.roster.write import resolve_region, write_roster

# From this many rows on, the progress bar shows even when stderr is not a terminal: a long import
# run from a script should still show that it is moving.
LARGE_FILE_ROWS = 2000


def summary(counts: ImportCounts) -> str:
    """The operator's one-paragraph report of what an import did, and which example rows it skipped."""
    text = _(
        "{rows} rows: {students_created} pupils added, {students_updated} updated, "
        "{students_unchanged} unchanged; {schools_created} schools and {classes_created} classes added; "
        "{people_created} people added, {people_updated} updated; {guardian_links_added} guardian links "
        "added, {guardian_links_removed} removed; {teacher_changes} class-teacher changes."
    ).format(**counts.as_dict())
    if counts.examples_skipped:
        text += " " + examples_skipped(counts.examples_skipped)
    return text


def examples_skipped(lines: list[int]) -> str:
    """'The template's example row (row 2) was skipped, not imported.'"""
    return ngettext(
        "The template's example row (row {lines}) was skipped, not imported.",
        "The template's example rows (rows {lines}) were skipped, not imported.",
        len(lines),
    ).format(lines=_(", ").join(str(line) for line in lines))


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
    """Validate the file, then write it all or nothing; returns the counts or the bad rows (one each)."""
    parsed = load_roster(path, show_progress)
    if parsed.errors:
        return None, by_row(parsed.errors)
    if not parsed.rows:
        if parsed.examples:
            raise RosterError(
                _("The file has no pupils: {skipped} Add the pupils below it.").format(
                    skipped=examples_skipped(parsed.examples)
                )
            )
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
        counts.examples_skipped = list(parsed.examples)
        # write_roster ticks only three quarters of the rows (after its big steps): fill the rest.
        bar.update(max(bar.total - bar.n, 0))
    return counts, []
