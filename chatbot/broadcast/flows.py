"""Chat flows of this domain (registered through chatbot.core.domains)."""

from __future__ import annotations

from chatbot.broadcast import actions, notice_flow, notices_flow
from chatbot.core.flow import Action, Flow

FLOWS: list[Flow] = [notice_flow.FLOW, notices_flow.FLOW]
ACTIONS: list[Action] = list(actions.ACTIONS)
