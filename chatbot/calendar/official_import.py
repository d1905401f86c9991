"""The `official:` section of a calendar file: the State Council's holiday arrangement for a year.

    official:
      - year: 2027
        days_off:                      # every block of the notice, 元旦 to 国庆
          - {holiday: 春节, start: 2027-02-05, end: 2027-02-11}
        workdays: [2027-02-20]         # the make-up working days (调休), all weekend days

An imported year replaces the holiday libraries for that whole year (see official.py), so it must list
every block. Importing the same year again replaces it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from sqlalchemy import delete
from sqlalchemy.orm import Session

from chatbot.calendar.official import canonical_holiday
from chatbot.i18n import _
from db.models.calendar import OfficialDayEntry

MAX_BLOCK_DAYS = 10


class DaysOff(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    holiday: str
    start: date
    end: date | None = None

    @field_validator("holiday")
    @classmethod
    def _known(cls, value: str) -> str:
        key = canonical_holiday(value)
        if key is None:
            raise ValueError(
                _(
                    "unknown holiday {name!r}: use 元旦, 春节, 清明节, 劳动节, 端午节, 中秋节 or 国庆节"
                ).format(name=value)
            )
        return key

    @model_validator(mode="after")
    def _span(self) -> DaysOff:
        end = self.end or self.start
        if end < self.start:
            raise ValueError(_("end is before start"))
        if (end - self.start).days >= MAX_BLOCK_DAYS:
            raise ValueError(_("a holiday block is at most {days} days").format(days=MAX_BLOCK_DAYS))
        return self

    def days(self) -> list[date]:
        end = self.end or self.start
        return [self.start + timedelta(days=n) for n in range((end - self.start).days + 1)]


class OfficialYear(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int
    days_off: list[DaysOff]
    workdays: list[date] = []

    @field_validator("year")
    @classmethod
    def _plausible(cls, value: int) -> int:
        if not 2000 <= value <= 2100:
            raise ValueError(_("a year from 2000 to 2100"))
        return value

    @model_validator(mode="after")
    def _consistent(self) -> OfficialYear:
        if not self.days_off:
            raise ValueError(_("list the year's holiday blocks under days_off"))
        seen: set[date] = set()
        for block in self.days_off:
            for day in block.days():
                if day.year != self.year:
                    raise ValueError(_("{day} is not in {year}").format(day=day, year=self.year))
                if day in seen:
                    raise ValueError(_("{day} is listed twice").format(day=day))
                seen.add(day)
        for day in self.workdays:
            if day.year != self.year:
                raise ValueError(_("{day} is not in {year}").format(day=day, year=self.year))
            if day.weekday() < 5:
                raise ValueError(
                    _("{day} is a weekday: a make-up working day is a Saturday or Sunday").format(day=day)
                )
            if day in seen:
                raise ValueError(_("{day} is both a day off and a working day").format(day=day))
        return self


def validation_problems(where: str, exc: ValidationError) -> list[str]:
    """One line per invalid field: 'entry 3: end: end is before start'."""
    lines = []
    for error in exc.errors():
        location = ".".join(str(p) for p in error["loc"]) or _("row")
        message = error["msg"].removeprefix("Value error, ")
        lines.append(_("{where}: {field}: {problem}").format(where=where, field=location, problem=message))
    return lines


def parse_official(raw: Any) -> tuple[list[OfficialYear], list[str]]:
    """The years in an `official:` section (a mapping or a list of them), and the problems found."""
    items = raw if isinstance(raw, list) else [raw]
    years: list[OfficialYear] = []
    problems: list[str] = []
    for index, item in enumerate(items, start=1):
        where = _("official {row}").format(row=index)
        if not isinstance(item, dict):
            problems.append(_("{where}: expected a mapping").format(where=where))
            continue
        try:
            years.append(OfficialYear.model_validate(item))
        except ValidationError as exc:
            problems.extend(validation_problems(where, exc))
    numbers = [y.year for y in years]
    for year in sorted({n for n in numbers if numbers.count(n) > 1}):
        problems.append(_("official: {year} is given twice").format(year=year))
    return years, problems


def write_official(session: Session, years: list[OfficialYear], now: datetime) -> int:
    """Replace each year's arrangement; returns the number of days written."""
    written = 0
    for year in years:
        session.execute(delete(OfficialDayEntry).where(OfficialDayEntry.year == year.year))
        rows = [
            OfficialDayEntry(day=day, year=year.year, workday=False, holiday=block.holiday, created_at=now)
            for block in year.days_off
            for day in block.days()
        ] + [
            OfficialDayEntry(day=day, year=year.year, workday=True, holiday=None, created_at=now)
            for day in year.workdays
        ]
        session.add_all(rows)
        written += len(rows)
    session.flush()
    return written
