"""Flows: a declarative table of states → step functions, like PTB's ConversationHandler.

A step is `(ctx, incoming) -> Outcome`. The Outcome names the next state (a key of the
flow's `states` table) or END. The router persists the state, so a dialog survives restarts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from chatbot.core.context import Context
from chatbot.core.messages import Button, Incoming, Reply

END: None = None


@dataclass
class Outcome:
    replies: list[Reply]
    next_state: str | None = END


Step = Callable[[Context, Incoming], Outcome]
Guard = Callable[[Context], bool]
Trigger = Callable[[Context, str], bool]
ActionHandler = Callable[[Context, Incoming], list[Reply]]


def _always(_ctx: Context) -> bool:
    return True


@dataclass(frozen=True)
class Flow:
    """One conversation. Build it with `Flow.create(...)`, which checks the table is sound."""

    name: str
    entry: Step
    states: Mapping[str, Step]
    commands: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    trigger: Trigger | None = None
    trigger_priority: int = 100
    allowed: Guard = _always
    help: str | None = None
    help_order: int = 100

    @classmethod
    def create(
        cls,
        name: str,
        entry: Step,
        states: Mapping[str, Step],
        *,
        commands: tuple[str, ...] = (),
        prefixes: tuple[str, ...] = (),
        trigger: Trigger | None = None,
        trigger_priority: int = 100,
        allowed: Guard = _always,
        help: str | None = None,
        help_order: int = 100,
    ) -> Flow:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", name):
            raise ValueError(f"flow name {name!r} must be a short lowercase identifier")
        for command in commands:
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", command):
                raise ValueError(f"flow {name}: command {command!r} must be lowercase, without '/'")
        for state in states:
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", state):
                raise ValueError(f"flow {name}: state {state!r} must be a short lowercase identifier")
        for prefix in prefixes:
            if not re.fullmatch(r"[a-z][a-z0-9]{0,5}", prefix):
                raise ValueError(f"flow {name}: payload prefix {prefix!r} is not a valid prefix")
        if not commands and trigger is None:
            raise ValueError(f"flow {name}: needs a command or a trigger to start")
        return cls(
            name=name,
            entry=entry,
            states=dict(states),
            commands=commands,
            prefixes=prefixes,
            trigger=trigger,
            trigger_priority=trigger_priority,
            allowed=allowed,
            help=help,
            help_order=help_order,
        )


@dataclass(frozen=True)
class Action:
    """A stateless button (acknowledge a notice, approve leave...): works from any message."""

    prefix: str
    handler: ActionHandler


@dataclass
class Registry:
    flows: dict[str, Flow] = field(default_factory=dict)
    actions: dict[str, Action] = field(default_factory=dict)

    def add_flow(self, flow: Flow) -> None:
        if flow.name in self.flows:
            raise ValueError(f"flow {flow.name!r} registered twice")
        taken = {c for f in self.flows.values() for c in f.commands}
        if clash := taken & set(flow.commands):
            raise ValueError(f"flow {flow.name!r}: commands {sorted(clash)} are taken")
        self.flows[flow.name] = flow

    def add_action(self, action: Action) -> None:
        owned = {p for f in self.flows.values() for p in f.prefixes}
        if action.prefix in self.actions or action.prefix in owned:
            raise ValueError(f"payload prefix {action.prefix!r} registered twice")
        self.actions[action.prefix] = action

    def flow_for_command(self, command: str) -> Flow | None:
        return next((f for f in self.flows.values() if command in f.commands), None)

    def flow_for_prefix(self, prefix: str) -> Flow | None:
        return next((f for f in self.flows.values() if prefix in f.prefixes), None)

    def triggered(self) -> list[Flow]:
        return sorted((f for f in self.flows.values() if f.trigger), key=lambda f: f.trigger_priority)


def say(text: str, *rows: list[Button], then: str | None = END, edit: bool = False) -> Outcome:
    """Shortcut for the common one-message outcome."""
    return Outcome([Reply(text=text, buttons=list(rows), edit=edit)], then)
