"""Per-region dropout-risk rules: each setting is read from Region.settings["attendance"], kept when
valid, replaced by its default (and logged by key only) when not."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from chatbot.attendance.rules import DEFAULT_RULES, Rules, rules_for

NOT_AN_OBJECT = "region attendance settings are not an object; using defaults"
BAD_TIERS = "region attendance setting rate_tiers is invalid; using the default"


def _bad(key: str) -> str:
    return f"region attendance setting {key} is invalid; using the default"


@pytest.mark.parametrize(
    ("attendance", "expected", "warnings"),
    [
        pytest.param(None, DEFAULT_RULES, [], id="no-settings"),
        pytest.param("strict", DEFAULT_RULES, [NOT_AN_OBJECT], id="not-an-object"),
        pytest.param([3], DEFAULT_RULES, [NOT_AN_OBJECT], id="a-list"),
        pytest.param(
            {"consecutive_days": 4, "rate_window": 15, "rate_min_days": 8, "escalate_after": 5},
            Rules(consecutive_days=4, rate_window=15, rate_min_days=8, escalate_after=5),
            [],
            id="every-count",
        ),
        pytest.param(
            {"consecutive_days": 1, "rate_window": 60, "rate_min_days": 1, "escalate_after": 60},
            Rules(consecutive_days=1, rate_window=60, rate_min_days=1, escalate_after=60),
            [],
            id="1-and-60-are-allowed",
        ),
        pytest.param(
            {"consecutive_days": 0, "rate_window": 61, "rate_min_days": True, "escalate_after": "3"},
            DEFAULT_RULES,
            [_bad("consecutive_days"), _bad("rate_window"), _bad("rate_min_days"), _bad("escalate_after")],
            id="0-61-a-bool-a-string",
        ),
        pytest.param(
            {"rate_tiers": [0.3, 0.05, 0.15]},
            Rules(rate_tiers=(0.05, 0.15, 0.3)),
            [],
            id="tiers-sorted",
        ),
    ],
)
def test_rules_for_reads_each_setting(
    caplog: pytest.LogCaptureFixture, attendance: Any, expected: Rules, warnings: list[str]
) -> None:
    settings = None if attendance is None else {"attendance": attendance, "other": 1}
    assert rules_for(settings) == expected
    assert _warnings(caplog) == warnings


@pytest.mark.parametrize(
    "tiers",
    [
        pytest.param([], id="empty"),
        pytest.param([0.1, 1.5], id="above-1"),
        pytest.param([1], id="exactly-1"),
        pytest.param([0, 0.2], id="exactly-0"),
        pytest.param([0.1, True], id="a-bool"),
        pytest.param([0.1, "0.2"], id="a-string"),
        pytest.param("0.1", id="not-a-list"),
    ],
)
def test_invalid_rate_tiers_fall_back_to_the_default(caplog: pytest.LogCaptureFixture, tiers: Any) -> None:
    assert rules_for({"attendance": {"rate_tiers": tiers, "rate_window": 12}}) == Rules(rate_window=12)
    assert _warnings(caplog) == [BAD_TIERS]


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "chatbot.attendance.rules" and r.levelno == logging.WARNING
    ]
