"""Chat flows of this domain (registered through chatbot.core.domains)."""

from __future__ import annotations

from chatbot.aid.dialog import FLOW, AidDetail, show_details
from chatbot.aid.pack import load_all
from chatbot.core.flow import Action, Flow

# Validate every pack when the bot starts (the registry imports this module): a bad pack stops the
# start with its file, item and field named, instead of failing in front of a parent.
load_all()

FLOWS: list[Flow] = [FLOW]
ACTIONS: list[Action] = [Action(AidDetail.prefix, show_details)]
