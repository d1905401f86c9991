"""Flows: a declarative table of states, like python-telegram-bot's ConversationHandler `states={...}`.

Each state lists its handlers by payload class (aiogram's `CallbackData.filter()`), one handler
for typed text, and the states its handlers may move to. The router picks the handler by the
pressed button's class, so a step never inspects prefixes, and it refuses a move the table does
not declare: the table (and the .mmd diagram beside each flow, checked against it by a test) is
the whole truth about where a conversation can go. The router persists the state, so a dialog
survives restarts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from chatbot.core.context import Context
from chatbot.core.messages import Button, Incoming, Reply
from chatbot.core.payloads import Payload

END: None = None
NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")

P = TypeVar("P", bound=Payload)


@dataclass
class Outcome:
    """What a step did: its replies and the state the dialog moves to (END closes it).

    `flow` is for stateless buttons (actions) that open a dialog: it names the flow whose
    `next_state` the dialog enters, so no handler writes dialog rows by itself."""

    replies: list[Reply]
    next_state: str | None = END
    flow: str | None = None


Step = Callable[[Context, Incoming], Outcome]
Guard = Callable[[Context], bool]
Trigger = Callable[[Context, str], bool]
ActionHandler = Callable[[Context, Incoming], "list[Reply] | Outcome"]


@dataclass(frozen=True)
class On(Generic[P]):
    """One button class a state answers, and its step, which receives the unpacked payload."""

    payload: type[P]
    step: Callable[[Context, Incoming, P], Outcome]

    def run(self, ctx: Context, incoming: Incoming) -> Outcome:
        return self.step(ctx, incoming, self.payload.unpack(incoming.payload))


@dataclass(frozen=True)
class State:
    """A state of a flow: its buttons by payload class, its text step, and where it may go."""

    buttons: Sequence[On[Any]] = ()
    text: Step | None = None
    goes_to: tuple[str | None, ...] = ()

    def step_for(self, payload_class: type[Payload] | None) -> On[Any] | None:
        return next((on for on in self.buttons if on.payload is payload_class), None)


@dataclass(frozen=True)
class Entry:
    """How a flow starts (a command, a trigger or a start button) and the states it may open in."""

    step: Step
    goes_to: tuple[str | None, ...] = (END,)


def _always(_ctx: Context) -> bool:
    return True


@dataclass(frozen=True)
class Flow:
    """One conversation. Build it with `Flow.create(...)`, which checks the table is sound."""

    name: str
    entry: Entry
    states: Mapping[str, State]
    commands: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    # States a stateless button (an Action) may open the dialog in, e.g. "note" after "home visit".
    opened_by_actions: tuple[str, ...] = ()
    trigger: Trigger | None = None
    trigger_priority: int = 100
    allowed: Guard = _always
    help: str | None = None
    help_order: int = 100

    @classmethod
    def create(
        cls,
        name: str,
        entry: Entry,
        states: Mapping[str, State],
        *,
        commands: tuple[str, ...] = (),
        opened_by_actions: tuple[str, ...] = (),
        trigger: Trigger | None = None,
        trigger_priority: int = 100,
        allowed: Guard = _always,
        help: str | None = None,
        help_order: int = 100,
    ) -> Flow:
        table = dict(states)
        if not NAME.fullmatch(name):
            raise ValueError(f"flow {name!r}: the name must be a short lowercase identifier")
        for command in commands:
            if not NAME.fullmatch(command):
                raise ValueError(f"flow {name}: command {command!r} must be lowercase, without '/'")
        for state_name in table:
            if not NAME.fullmatch(state_name):
                raise ValueError(f"flow {name}: state {state_name!r} must be a short lowercase identifier")
        sources = [("start", entry.goes_to), ("an action", opened_by_actions)]
        for source, targets in [*sources, *((s, st.goes_to) for s, st in table.items())]:
            if unknown := [t for t in targets if t is not END and t not in table]:
                raise ValueError(f"flow {name}: {source} goes to undeclared states {unknown}")
        if not commands and trigger is None:
            raise ValueError(f"flow {name}: needs a command or a trigger to start")
        owned: list[str] = []
        for state_name, state in table.items():
            classes = [on.payload for on in state.buttons]
            if len(set(classes)) != len(classes):
                raise ValueError(f"flow {name}: state {state_name} lists a button class twice")
            owned.extend(c.prefix for c in classes if c.prefix not in owned)
        return cls(
            name=name,
            entry=entry,
            states=table,
            commands=commands,
            prefixes=tuple(owned),
            opened_by_actions=opened_by_actions,
            trigger=trigger,
            trigger_priority=trigger_priority,
            allowed=allowed,
            help=help,
            help_order=help_order,
        )

    def edges(self) -> set[tuple[str, str]]:
        """The table's transitions as diagram edges: "[*]" is the outside, "start" the entry step."""
        end = "[*]"
        found = {(end, "start")} | {("start", t or end) for t in self.entry.goes_to}
        found |= {(end, state) for state in self.opened_by_actions}
        for state_name, state in self.states.items():
            found |= {(state_name, t or end) for t in state.goes_to}
        return found


@dataclass(frozen=True)
class Action:
    """A stateless button (acknowledge a notice, approve leave...): works from any message.

    Its handler returns replies, or an Outcome naming a flow and state when the press opens a dialog."""

    prefix: str
    handler: ActionHandler


# Called after the delivery worker records sends: (session, refs by type, now, editable channels).
AfterDelivery = Callable[[Any, dict[str, set[int]], Any, frozenset[str]], None]


@dataclass
class Registry:
    """Every domain's flows, stateless buttons and after-delivery hooks (chatbot.core.domains fills it)."""

    flows: dict[str, Flow] = field(default_factory=dict)
    actions: dict[str, Action] = field(default_factory=dict)
    after_delivery: list[AfterDelivery] = field(default_factory=list)

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
