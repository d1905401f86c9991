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
from typing import Any

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


def _scope_key(row: EntryRow, school: School | None, region: Region) -> tuple[int, int | None]:
    return (region.id, school.id if school else None)


def import_calendar(session: Session, path: Path, now: datetime, actor_id: int | None = None) -> ImportResult:
    """Validate the whole file, then replace the covered entries; raises CalendarImportError."""
    source = read_rows(path)
    raw_rows, reminders = source.rows, source.reminders
    problems: list[str] = []
    official: list[OfficialYear] = []
    if source.official is not None:
        official, official_problems = parse_official(source.official)
        problems.extend(official_problems)
    regions = {r.code: r for r in session.scalars(select(Region))}
    valid: list[tuple[str, EntryRow, Region, School | None]] = []
    for where, raw in raw_rows:
        try:
            row = EntryRow.model_validate(raw)
        except ValidationError as exc:
            problems.extend(validation_problems(where, exc))
            continue
        region = regions.get(row.region)
        if region is None:
            problems.append(_("{where}: unknown region {code!r}").format(where=where, code=row.region))
            continue
        school: School | None = None
        if row.school is not None:
            school = _find_school(session, region, row.school)
            if school is None:
                problems.append(
                    _("{where}: no school {school!r} in region {code}").format(
                        where=where, school=row.school, code=region.code
                    )
                )
                continue
        valid.append((where, row, region, school))
    problems.extend(_overlaps(valid))
    overrides: dict[str, Any] = {}
    override_region: Region | None = None
    if reminders is not None:
        override_region = regions.get(str(reminders["region"])) if reminders["region"] else None
        if override_region is None:
            problems.append(_("reminders: need a top-level region code that exists"))
        try:
            overrides = parse_overrides(reminders["rules"])
        except RuleError as exc:
            problems.append(str(exc))
    if not raw_rows and reminders is None and source.official is None:
        problems.append(_("{file}: no entries").format(file=path))
    if problems:
        raise CalendarImportError(problems)

    result = ImportResult()
    spans: dict[tuple[int, int | None], tuple[date, date]] = {}
    for _where, row, region, school in valid:
        key = _scope_key(row, school, region)
        last = row.end or row.start
        first_seen, last_seen = spans.get(key, (row.start, last))
        spans[key] = (min(first_seen, row.start), max(last_seen, last))
        result.regions.add(region.code)
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
    for _where, row, region, school in valid:
        session.add(
            CalendarEntry(
                region_id=region.id,
                school_id=school.id if school else None,
                kind=row.kind,
                name=row.name,
                first_day=row.start,
                last_day=row.end or row.start,
                note=row.note,
                created_at=now,
            )
        )
        result.entries += 1
    if override_region is not None:
        # Reassign the dict: JSON columns only notice a new value, not an in-place change.
        override_region.settings = {**(override_region.settings or {}), "reminders": overrides}
        result.rule_overrides = len(overrides)
        result.regions.add(override_region.code)
    if official:
        write_official(session, official, now)
        result.official_years = sorted(y.year for y in official)
    session.add(
        AuditLog(
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
    )
    session.flush()
    return result


def _find_school(session: Session, region: Region, ref: str) -> School | None:
    query = select(School).where(School.region_id == region.id)
    if ref.isdecimal():
        found = session.scalars(query.where(School.id == int(ref))).first()
        if found is not None:
            return found
    return session.scalars(query.where(School.name == ref)).first()


def _overlaps(valid: list[tuple[str, EntryRow, Region, School | None]]) -> list[str]:
    """Terms and vacations of one scope in the file must not overlap each other."""
    problems = []
    periods = [
        (where, row, (region.id, school.id if school else None))
        for where, row, region, school in valid
        if row.kind in (CalendarKind.TERM, CalendarKind.VACATION)
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
