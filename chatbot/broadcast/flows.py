"""Chat flows of this domain (registered through chatbot.core.domains)."""

from __future__ import annotations

from chatbot.broadcast import actions, notice_flow, notices_flow, progress
from chatbot.core.flow import Action, AfterDelivery, Flow

FLOWS: list[Flow] = [notice_flow.FLOW, notices_flow.FLOW]
ACTIONS: list[Action] = list(actions.ACTIONS)
# Each notice's progress message is refreshed as its messages go out.
AFTER_DELIVERY: list[AfterDelivery] = [progress.after_delivery]
