"""Importing a calendar file (YAML or CSV): validate every row first, then write all or nothing.

YAML:
    region: linxia-demo            # default region code for the entries
    entries:
      - {kind: term, name: autumn, start: 2026-09-01, end: 2027-01-15}
      - {kind: day_off, school: 红星小学, start: 2026-10-12, note: sports day}
    reminders:                     # optional per-region rule overrides (see chatbot/calendar/reminder_rules.py)
      term_start: {days_before: [7, 1]}
    official:                      # optional: the State Council's arrangement (see official_import.py)
      - {year: 2027, days_off: [{holiday: 春节, start: 2027-02-05, end: 2027-02-11}], workdays: [2027-02-20]}

CSV: header `region,school,kind,name,start,end,note` (school and end optional).

For each scope (region, or one school) in the file, the entries it already has inside the file's
date span for that scope are replaced, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from chatbot.calendar.official_import import OfficialYear, parse_official, validation_problems, write_official
from chatbot.calendar.reminder_rules import RuleError, parse_overrides
from chatbot.i18n import _
from db.models import AuditLog, Region, School
from db.models.calendar import CalendarEntry, CalendarKind

MAX_SPAN_DAYS = 366


class CalendarImportError(Exception):
    """The file is unusable; `problems` names each bad row and field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class EntryRow(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    region: str
    school: str | None = None
    kind: CalendarKind
    name: str = ""
    start: date
    end: date | None = None
    note: str | None = None

    @field_validator("school", "note", "end", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("name")
    @classmethod
    def _short_name(cls, value: str) -> str:
        if len(value) > 64:
            raise ValueError("at most 64 characters")
        return value

    @model_validator(mode="after")
    def _dates(self) -> EntryRow:
        end = self.end or self.start
        if end < self.start:
            raise ValueError("end is before start")
        if (end - self.start).days > MAX_SPAN_DAYS:
            raise ValueError(f"spans more than {MAX_SPAN_DAYS} days")
        if self.kind in (CalendarKind.TERM, CalendarKind.VACATION) and not self.name:
            raise ValueError("terms and vacations need a name (autumn, spring, winter, summer)")
        return self


@dataclass
class ImportResult:
    entries: int = 0
    replaced: int = 0
    regions: set[str] = field(default_factory=set)
    rule_overrides: int = 0
    official_years: list[int] = field(default_factory=list)


@dataclass
class RawFile:
    rows: list[tuple[str, dict[str, Any]]]
    reminders: dict[str, Any] | None = None
    official: Any = None


def read_rows(path: Path) -> RawFile:
    """(where, raw row) pairs and the raw reminders and official sections; raises CalendarImportError."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CalendarImportError([_("cannot read {file}: {error}").format(file=path, error=exc)]) from None
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CalendarImportError(
                [_("{file}: not valid YAML: {error}").format(file=path, error=exc)]
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("entries", []), list):
            raise CalendarImportError(
                [_("{file}: expected a mapping with an 'entries' list").format(file=path)]
            )
        default_region = data.get("region")
        rows = []
        for index, raw in enumerate(data.get("entries") or [], start=1):
            if not isinstance(raw, dict):
                raise CalendarImportError([_("entry {row}: expected a mapping").format(row=index)])
            row = {"region": default_region, **raw} if default_region is not None else dict(raw)
            rows.append((_("entry {row}").format(row=index), {k: v for k, v in row.items()}))
        reminders = data.get("reminders")
        extra = set(data) - {"region", "entries", "reminders", "official"}
        if extra:
            raise CalendarImportError(
                [_("{file}: unknown top-level keys: {keys}").format(file=path, keys=", ".join(sorted(extra)))]
            )
        return RawFile(
            rows,
            {"region": default_region, "rules": reminders} if reminders is not None else None,
            data.get("official"),
        )
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        missing = {"region", "kind", "start"} - set(reader.fieldnames or [])
        if missing:
            raise CalendarImportError(
                [
                    _("{file}: missing columns: {columns}").format(
                        file=path, columns=", ".join(sorted(missing))
                    )
                ]
            )
        return RawFile(
            [
                (_("row {row}").format(row=index), {k: v for k, v in raw.items() if k is not None})
                for index, raw in enumerate(reader, start=2)
            ]
        )
    raise CalendarImportError([_("{file}: use a .yaml, .yml or .csv file").format(file=path)])


class ValidEntry(NamedTuple):
    """A row that passed validation, with the region and school it names."""

    where: str
    row: EntryRow
    region: Region
    school: School | None


Scope = tuple[int, int | None]


@dataclass
class ReminderPlan:
    """The parsed reminder overrides and the region they go to (None when unusable or absent)."""

    overrides: dict[str, Any] = field(default_factory=dict)
    region: Region | None = None


def _scope_key(row: EntryRow, school: School | None, region: Region) -> Scope:
    return (region.id, school.id if school else None)


def import_calendar(session: Session, path: Path, now: datetime, actor_id: int | None = None) -> ImportResult:
    """Validate the whole file, then replace the covered entries; raises CalendarImportError."""
    source = read_rows(path)
    problems: list[str] = []
    official = _parse_official_section(source, problems)
    regions = {r.code: r for r in session.scalars(select(Region))}
    valid = _validate_entries(session, source.rows, regions, problems)
    problems.extend(_overlaps(valid))
    reminders = _parse_reminders(source.reminders, regions, problems)
    if not source.rows and source.reminders is None and source.official is None:
        problems.append(_("{file}: no entries").format(file=path))
    if problems:
        raise CalendarImportError(problems)

    result = ImportResult()
    _delete_covered(session, _spans(valid, result), result)
    _add_entries(session, valid, now, result)
    _apply_reminders(reminders, result)
    if official:
        write_official(session, official, now)
        result.official_years = sorted(y.year for y in official)
    session.add(_import_audit(path, now, actor_id, result))
    session.flush()
    return result


def _parse_official_section(source: RawFile, problems: list[str]) -> list[OfficialYear]:
    """The file's official years, if it has that section; their problems go to `problems`."""
    if source.official is None:
        return []
    official, official_problems = parse_official(source.official)
    problems.extend(official_problems)
    return official


def _validate_entries(
    session: Session,
    raw_rows: list[tuple[str, dict[str, Any]]],
    regions: dict[str, Region],
    problems: list[str],
) -> list[ValidEntry]:
    """The rows that validate and name a known region and school; the others' problems go to `problems`."""
    valid: list[ValidEntry] = []
    for where, raw in raw_rows:
        entry = _validate_entry(session, where, raw, regions, problems)
        if entry is not None:
            valid.append(entry)
    return valid


def _validate_entry(
    session: Session, where: str, raw: dict[str, Any], regions: dict[str, Region], problems: list[str]
) -> ValidEntry | None:
    """One row checked against the schema, the regions and that region's schools."""
    try:
        row = EntryRow.model_validate(raw)
    except ValidationError as exc:
        problems.extend(validation_problems(where, exc))
        return None
    region = regions.get(row.region)
    if region is None:
        problems.append(_("{where}: unknown region {code!r}").format(where=where, code=row.region))
        return None
    school: School | None = None
    if row.school is not None:
        school = _find_school(session, region, row.school)
        if school is None:
            problems.append(
                _("{where}: no school {school!r} in region {code}").format(
                    where=where, school=row.school, code=region.code
                )
            )
            return None
    return ValidEntry(where, row, region, school)


def _parse_reminders(
    reminders: dict[str, Any] | None, regions: dict[str, Region], problems: list[str]
) -> ReminderPlan:
    """The reminders section's overrides and target region; its problems go to `problems`."""
    plan = ReminderPlan()
    if reminders is None:
        return plan
    plan.region = regions.get(str(reminders["region"])) if reminders["region"] else None
    if plan.region is None:
        problems.append(_("reminders: need a top-level region code that exists"))
    try:
        plan.overrides = parse_overrides(reminders["rules"])
    except RuleError as exc:
        problems.append(str(exc))
    return plan


def _spans(valid: list[ValidEntry], result: ImportResult) -> dict[Scope, tuple[date, date]]:
    """Each scope's first and last day in the file; notes every region touched in `result`."""
    spans: dict[Scope, tuple[date, date]] = {}
    for entry in valid:
        key = _scope_key(entry.row, entry.school, entry.region)
        last = entry.row.end or entry.row.start
        first_seen, last_seen = spans.get(key, (entry.row.start, last))
        spans[key] = (min(first_seen, entry.row.start), max(last_seen, last))
        result.regions.add(entry.region.code)
    return spans


def _delete_covered(session: Session, spans: dict[Scope, tuple[date, date]], result: ImportResult) -> None:
    """Delete the entries each scope already has inside its span, counting them in `result`."""
    for (region_id, school_id), (first, last) in spans.items():
        scope = (
            CalendarEntry.school_id.is_(None) if school_id is None else CalendarEntry.school_id == school_id
        )
        deleted = session.execute(
            delete(CalendarEntry).where(
                CalendarEntry.region_id == region_id,
                scope,
                CalendarEntry.first_day >= first,
                CalendarEntry.first_day <= last,
            )
        )
        result.replaced += int(getattr(deleted, "rowcount", 0) or 0)


def _add_entries(session: Session, valid: list[ValidEntry], now: datetime, result: ImportResult) -> None:
    """Add one calendar entry per valid row, counting them in `result`."""
    for entry in valid:
        session.add(
            CalendarEntry(
                region_id=entry.region.id,
                school_id=entry.school.id if entry.school else None,
                kind=entry.row.kind,
                name=entry.row.name,
                first_day=entry.row.start,
                last_day=entry.row.end or entry.row.start,
                note=entry.row.note,
                created_at=now,
            )
        )
        result.entries += 1


def _apply_reminders(plan: ReminderPlan, result: ImportResult) -> None:
    """Store the reminder overrides in their region's settings, if there is such a region."""
    region = plan.region
    if region is None:
        return
    # Reassign the dict: JSON columns only notice a new value, not an in-place change.
    region.settings = {**(region.settings or {}), "reminders": plan.overrides}
    result.rule_overrides = len(plan.overrides)
    result.regions.add(region.code)


def _import_audit(path: Path, now: datetime, actor_id: int | None, result: ImportResult) -> AuditLog:
    """The audit row recording what the import did."""
    return AuditLog(
        at=now,
        actor_person_id=actor_id,
        action="calendar.import",
        target=",".join(sorted(result.regions)),
        details={
            "file": path.name,
            "entries": result.entries,
            "replaced": result.replaced,
            "official_years": result.official_years,
        },
    )


def _find_school(session: Session, region: Region, ref: str) -> School | None:
    query = select(School).where(School.region_id == region.id)
    if ref.isdecimal():
        found = session.scalars(query.where(School.id == int(ref))).first()
        if found is not None:
            return found
    return session.scalars(query.where(School.name == ref)).first()


def _overlaps(valid: list[ValidEntry]) -> list[str]:
    """Terms and vacations of one scope in the file must not overlap each other."""
    problems = []
    periods = [
        (entry.where, entry.row, (entry.region.id, entry.school.id if entry.school else None))
        for entry in valid
        if entry.row.kind in (CalendarKind.TERM, CalendarKind.VACATION)
    ]
    for index, (where, row, scope) in enumerate(periods):
        for other_where, other, other_scope in periods[:index]:
            if (
                scope == other_scope
                and row.start <= (other.end or other.start)
                and other.start <= (row.end or row.start)
            ):
                problems.append(
                    _("{where}: overlaps {other} ({kind} {name})").format(
                        where=where, other=other_where, kind=other.kind.value, name=other.name
                    )
                )
    return problems
