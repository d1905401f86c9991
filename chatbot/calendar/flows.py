"""Chat flows of this domain (registered through chatbot.core.domains)."""

from __future__ import annotations

from chatbot.calendar.calendar_flow import FLOW as CALENDAR_FLOW
from chatbot.core.flow import Action, Flow

FLOWS: list[Flow] = [CALENDAR_FLOW]
ACTIONS: list[Action] = []
