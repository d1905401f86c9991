"""Dropout-risk cases (控辍保学台账): triggers, escalation (双线三级), the 劝返 ledger, visit lists.

History is measured in the class's own roll-call days: a day counts as a school day of the
pupil's class when that class submitted a roll-call, so a day nobody recorded never counts
against a pupil. All trigger queries are set-based (window functions, both backends).

This module is the domain's public face; the work is done in one module per concern:
`case_triggers` (triggers and opening cases at the daily close), `case_escalation`,
`case_actions` (the ledger) and `case_visits` (lists for the reminders), over `case_common`.
"""

from __future__ import annotations

from chatbot.attendance.case_actions import CaseClosed, act_on_case
from chatbot.attendance.case_common import LOOKBACK_DAYS, SchoolRow, people_with_role
from chatbot.attendance.case_escalation import escalate_cases
from chatbot.attendance.case_triggers import class_label_args, find_triggers, open_cases
from chatbot.attendance.case_visits import VisitEntry, home_visit_list, never_returned

__all__ = [
    "LOOKBACK_DAYS",
    "CaseClosed",
    "SchoolRow",
    "VisitEntry",
    "act_on_case",
    "class_label_args",
    "escalate_cases",
    "find_triggers",
    "home_visit_list",
    "never_returned",
    "open_cases",
    "people_with_role",
]
