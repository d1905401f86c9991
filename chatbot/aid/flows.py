"""Chat flows of this domain (registered through chatbot.core.domains)."""

from __future__ import annotations

from chatbot.aid.dialog import FLOW, AidDetail, show_details
from chatbot.core.flow import Action, Flow

FLOWS: list[Flow] = [FLOW]
ACTIONS: list[Action] = [Action(AidDetail.prefix, show_details)]
