"""The rule tables: every rule that has occurrences has a planner, and each planner says in one line what it sends."""

from __future__ import annotations

from chatbot.calendar.reminder_rules import DEFAULT_RULES, ROLLCALL_NUDGE
from chatbot.reminders.occurrences import FINDERS
from chatbot.reminders.planners import PLANNERS


def test_every_rule_with_occurrences_has_a_planner() -> None:
    assert set(FINDERS) == set(PLANNERS)
    # The roll-call nudge is the attendance schedule's slot, not a reminder with occurrences.
    assert set(PLANNERS) == set(DEFAULT_RULES) - {ROLLCALL_NUDGE}


def test_each_planner_and_finder_has_a_one_line_docstring() -> None:
    for function in [*PLANNERS.values(), *FINDERS.values()]:
        doc = function.__doc__ or ""
        assert doc and "\n" not in doc.strip(), function.__name__
