"""The people domain's flows, one per module: /start, /help, /whoami, /language, /forget, /status."""

from __future__ import annotations

from chatbot.core.flow import Action, Flow
from chatbot.people import binding, forget, language, menu, status
from chatbot.people.menu import ROLE_LABELS, help_replies

FLOWS: list[Flow] = [binding.FLOW, menu.HELP_FLOW, menu.WHOAMI_FLOW, language.FLOW, forget.FLOW, status.FLOW]
ACTIONS: list[Action] = []

__all__ = ["ACTIONS", "FLOWS", "ROLE_LABELS", "help_replies"]
