"""Chat flows of this domain (registered through chatbot.core.domains)."""

from __future__ import annotations

from chatbot.aid.dialog import FLOW, show_details
from chatbot.aid.pack import PackError, load_all
from chatbot.aid.payloads import AidDetail
from chatbot.core.flow import Action, Flow


def validate_packs_or_exit() -> None:
    """Stop the start with one clear message (file, item, field) if any pack is invalid."""
    try:
        load_all()
    except PackError as exc:
        raise SystemExit(f"invalid aid policy pack:\n{exc}") from exc


# The registry imports this module when the bot starts, so a bad pack never reaches a parent.
validate_packs_or_exit()

FLOWS: list[Flow] = [FLOW]
ACTIONS: list[Action] = [Action(AidDetail.prefix, show_details)]
