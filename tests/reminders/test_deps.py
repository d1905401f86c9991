"""The attendance functions the reminder jobs call are found by name, and their signatures read."""

from __future__ import annotations

import json
import logging

import pytest

from chatbot.attendance import cases, close
from chatbot.reminders import deps


def test_the_jobs_find_the_attendance_functions() -> None:
    assert deps.close_day() is close.close_day
    assert deps.nudge_missing_rollcalls() is close.nudge_missing_rollcalls
    assert deps.escalate_cases() is cases.escalate_cases
    assert deps.home_visit_list() is cases.home_visit_list
    assert deps.never_returned() is cases.never_returned


def test_a_function_the_package_itself_exports_is_found_there() -> None:
    assert deps.find_function("json", "dumps") is json.dumps


def test_a_missing_function_is_none_and_logged_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deps, "_reported", set())  # whatever earlier tests in this process looked up
    for _attempt in range(2):
        assert deps.find_function("chatbot.attendance", "no_such_function", ("close",)) is None
    assert deps.find_function("chatbot.no_such_domain", "close_day") is None
    assert deps.find_function("json.decoder", "no_such_function") is None  # a module, not a package
    logged = [r.getMessage() for r in caplog.records if r.name == "chatbot.reminders.deps"]
    assert logged == [
        "chatbot.attendance.*.no_such_function is not available yet; the jobs that need it wait for it",
        "chatbot.no_such_domain.*.close_day is not available yet; the jobs that need it wait for it",
        "json.decoder.*.no_such_function is not available yet; the jobs that need it wait for it",
    ]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "chatbot.reminders.deps")


def test_accepts_reads_the_parameters_and_says_no_when_it_cannot() -> None:
    assert deps.accepts(close.nudge_missing_rollcalls, "school_ids") is True
    assert deps.accepts(cases.escalate_cases, "school_ids") is False
    assert deps.accepts(next, "school_ids") is False  # a builtin without a signature
