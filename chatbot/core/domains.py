"""Where the flows and stateless button actions come from: one module per domain.

Each module listed here exposes `FLOWS: list[Flow]` and `ACTIONS: list[Action]`, and may expose
`AFTER_DELIVERY`: functions the delivery worker calls once sends are recorded (a notice's progress).
"""

from __future__ import annotations

import importlib
from functools import lru_cache

from chatbot.core.flow import Registry

DOMAIN_MODULES = (
    "chatbot.people.flows",
    "chatbot.aid.flows",
    "chatbot.attendance.flows",
    "chatbot.broadcast.flows",
    "chatbot.calendar.flows",
    "chatbot.reminders.flows",
)


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    registry = Registry()
    for name in DOMAIN_MODULES:
        module = importlib.import_module(name)
        for flow in getattr(module, "FLOWS", []):
            registry.add_flow(flow)
    for name in DOMAIN_MODULES:
        module = importlib.import_module(name)
        for action in getattr(module, "ACTIONS", []):
            registry.add_action(action)
        registry.after_delivery.extend(getattr(module, "AFTER_DELIVERY", []))
    return registry
