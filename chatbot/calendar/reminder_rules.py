"""Reminder rules as data: defaults here, per-region overrides in Region.settings["reminders"].

Overrides come from the `reminders:` section of a calendar file (`bot.py calendar import`), e.g.

    reminders:
      term_start: {days_before: [7, 1], at: "18:30"}
      spring_festival: {enabled: false}

They live with the calendar because its importer validates them; the reminders domain and the
attendance schedule (roll-call nudges) read them.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from db.models import Region

TERM_START = "term_start"
VACATION = "vacation"
SPRING_FESTIVAL = "spring_festival"
NEVER_RETURNED = "never_returned"
ROLLCALL_NUDGE = "rollcall_nudge"


class RuleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    # Days before the anchor date (term start, vacation start, 除夕) on which the reminder goes out.
    days_before: tuple[int, ...] = ()
    # Local time of day in the school's time zone.
    at: time = time(18, 30)
    # never_returned: how many school days after the term start.
    school_days_after: int = Field(default=3, ge=1, le=30)
    # rollcall_nudge: minutes before the roll-call cutoff.
    minutes_before_cutoff: int = Field(default=30, ge=5, le=240)

    @field_validator("days_before")
    @classmethod
    def _sane_days(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 0 <= d <= 60 for d in value):
            raise ValueError("days_before must be between 0 and 60")
        return tuple(sorted(set(value), reverse=True))


DEFAULT_RULES: dict[str, RuleConfig] = {
    # Parents get the return date, what to bring and the aid line; class teachers a roll-call reminder.
    TERM_START: RuleConfig(days_before=(7, 1), at=time(18, 30)),
    # Before winter and summer vacation: parents the safety notice, class teachers the home-visit list.
    VACATION: RuleConfig(days_before=(3,), at=time(16, 0)),
    # Before 除夕: parents the Spring Festival safety notice, class teachers the home-visit list.
    SPRING_FESTIVAL: RuleConfig(days_before=(3,), at=time(18, 30)),
    # Pupils with no attendance at all since the term started, to class teacher and principal.
    NEVER_RETURNED: RuleConfig(school_days_after=3, at=time(12, 0)),
    # Class teachers who have not submitted roll-call (the attendance domain sends it).
    ROLLCALL_NUDGE: RuleConfig(minutes_before_cutoff=30),
}


class RuleError(ValueError):
    """A rule override is invalid; the message names the rule and the field."""


def parse_overrides(raw: Any) -> dict[str, dict[str, Any]]:
    """Validate a `reminders:` section; returns it in the JSON form stored in Region.settings."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise RuleError("reminders: must be a mapping of rule name to settings")
    result: dict[str, dict[str, Any]] = {}
    for name, values in raw.items():
        if name not in DEFAULT_RULES:
            raise RuleError(f"reminders: unknown rule {name!r}; known: {', '.join(DEFAULT_RULES)}")
        if not isinstance(values, dict):
            raise RuleError(f"reminders.{name}: must be a mapping")
        try:
            merged = DEFAULT_RULES[name].model_copy(update={}).model_dump() | values
            config = RuleConfig.model_validate(merged)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise RuleError(f"reminders.{name}.{field}: {first['msg']}") from None
        result[name] = config.model_dump(mode="json", exclude_defaults=False)
    return result


def rules_for(region: Region) -> dict[str, RuleConfig]:
    """The effective rules of a region: defaults, with the region's overrides applied."""
    overrides = (region.settings or {}).get("reminders") or {}
    rules = dict(DEFAULT_RULES)
    for name, values in overrides.items():
        if name in rules and isinstance(values, dict):
            try:
                rules[name] = RuleConfig.model_validate(values)
            except ValidationError:
                continue  # validated on import; a hand-edited bad value keeps the default
    return rules
