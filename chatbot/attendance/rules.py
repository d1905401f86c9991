"""Per-region dropout-risk rules, read from Region.settings["attendance"] with safe defaults.

    {"attendance": {"consecutive_days": 3, "rate_tiers": [0.10, 0.20], "rate_window": 20,
                    "rate_min_days": 10, "escalate_after": 2}}

The rate tiers follow Attendance Works (chronic absence at 10%, severe at 20%) over the last
`rate_window` school days that had a roll-call; no rate is judged on fewer than `rate_min_days`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import time
from typing import Any

from db.models.attendance import Mark

log = logging.getLogger(__name__)

# A school's roll-call cutoff when it sets none: the day closes then.
DEFAULT_CUTOFF = time(10, 0)
# The marks that count as a day away from school (late does not).
ABSENCE_MARKS = (Mark.ABSENT, Mark.SICK, Mark.PERSONAL)


@dataclass(frozen=True)
class Rules:
    consecutive_days: int = 3
    rate_tiers: tuple[float, ...] = (0.10, 0.20)
    rate_window: int = 20
    rate_min_days: int = 10
    escalate_after: int = 2


DEFAULT_RULES = Rules()


def rules_for(settings: dict[str, Any] | None) -> Rules:
    """The region's rules; a malformed value falls back to its default (and is logged, by key only)."""
    raw = (settings or {}).get("attendance") or {}
    if not isinstance(raw, dict):
        log.warning("region attendance settings are not an object; using defaults")
        return DEFAULT_RULES
    values: dict[str, Any] = {}
    for key in ("consecutive_days", "rate_window", "rate_min_days", "escalate_after"):
        value = raw.get(key)
        if value is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 60:
            values[key] = value
        else:
            log.warning("region attendance setting %s is invalid; using the default", key)
    tiers = raw.get("rate_tiers")
    if tiers is not None:
        if (
            isinstance(tiers, list)
            and tiers
            and all(isinstance(t, int | float) and not isinstance(t, bool) and 0 < t < 1 for t in tiers)
        ):
            values["rate_tiers"] = tuple(sorted(float(t) for t in tiers))
        else:
            log.warning("region attendance setting rate_tiers is invalid; using the default")
    return Rules(**values)
