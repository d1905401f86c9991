"""Chat flows of this domain (registered through chatbot.core.domains)."""

from __future__ import annotations

from chatbot.attendance import actions, casework, leave, quickmark, reportchat, rollcall, todo
from chatbot.core.flow import Action, Flow

FLOWS: list[Flow] = [rollcall.FLOW, quickmark.FLOW, leave.FLOW, casework.FLOW, reportchat.FLOW, todo.FLOW]
ACTIONS: list[Action] = [*actions.ACTIONS, *casework.ACTIONS]
