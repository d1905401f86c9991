"""Chat flows of this domain (registered through chatbot.core.domains)."""

from __future__ import annotations

from chatbot.core.flow import Action, Flow

FLOWS: list[Flow] = []
ACTIONS: list[Action] = []
