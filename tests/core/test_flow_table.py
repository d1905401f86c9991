"""The router against a flow's table: a step runs only for a button class its state lists, text only
where the state has a text step, a step may only move where its state's `goes_to` says, and a
stateless button opens a dialog only in a state the flow lets actions open.

A tiny flow of this module's own is registered in a Registry of its own; its button classes join a
private copy of the payload registry, so the real buttons stay as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.core.context import Context
from chatbot.core.flow import END, Action, Entry, Flow, On, Outcome, Registry, State, say
from chatbot.core.messages import Button, Incoming, Reply
from chatbot.core.payloads import Payload
from chatbot.core.router import Router
from db.models import ChannelIdentity, DialogState

WHO = "guest-tiny"
EXPIRED = "That button has expired. Send /help to start again."
NOT_VALID = "That button is not valid any more. Send /help to start again."
CHOOSE = "Please choose one of the buttons."
APOLOGY = "Sorry, something went wrong. Nothing was saved. Please try again."


def tiny_registry() -> Registry:
    """/tiny: "ask" (a Go button) → "done" (a Stop button, or text) → end; an Open action opens "done"."""

    @dataclass(frozen=True)
    class Go(Payload, prefix="tygo"):
        to: str

    @dataclass(frozen=True)
    class Stop(Payload, prefix="tyst"):
        ok: bool

    @dataclass(frozen=True)
    class Open(Payload, prefix="tyop"):
        state: str

    def start(ctx: Context, msg: Incoming) -> Outcome:
        ctx.data = {"started": True}
        return say("Go where?", [Button("done", Go("done").pack())], then="ask")

    def go(ctx: Context, msg: Incoming, pressed: Go) -> Outcome:
        # "elsewhere" is a state of the flow, but not one "ask" declares it may move to.
        return say(f"went {pressed.to}", [Button("stop", Stop(True).pack())], then=pressed.to)

    def stop(ctx: Context, msg: Incoming, pressed: Stop) -> Outcome:
        return say("stopped")

    def typed(ctx: Context, msg: Incoming) -> Outcome:
        return say(f"typed {msg.text}")

    def open_by_action(ctx: Context, msg: Incoming) -> Outcome:
        ctx.data = {"opened": True}
        return Outcome([Reply("opened")], next_state=Open.unpack(msg.payload).state, flow="tiny")

    registry = Registry()
    registry.add_flow(
        Flow.create(
            "tiny",
            Entry(start, goes_to=("ask",)),
            {
                "ask": State(buttons=[On(Go, go)], goes_to=("done",)),
                "done": State(buttons=[On(Stop, stop)], text=typed, goes_to=(END,)),
                "elsewhere": State(text=typed, goes_to=(END,)),
            },
            commands=("tiny",),
            opened_by_actions=("done",),
        )
    )
    registry.add_action(Action(Open.prefix, open_by_action))
    return registry


@pytest.fixture
def tiny(empty_app: App, monkeypatch: pytest.MonkeyPatch) -> Iterator[ConsoleChannel]:
    monkeypatch.setattr(Payload, "registry", dict(Payload.registry))
    router = Router(empty_app.session_factory, empty_app.settings, tiny_registry())
    yield ConsoleChannel(empty_app.session_factory, router, clock=empty_app.clock)


def said(console: ConsoleChannel, text: str | None = None, payload: str | None = None) -> list[str]:
    return [r.text for r in console.send(WHO, text, payload=payload, lang="en")]


def dialog(app: App) -> tuple[str, str, dict[str, Any]] | None:
    with app.session_factory() as s:
        identity = s.scalars(select(ChannelIdentity).where(ChannelIdentity.external_id == WHO)).one()
        row = s.get(DialogState, identity.id)
        return (row.flow, row.state, row.data) if row is not None else None


def test_the_table_derives_the_flows_prefixes_from_its_button_classes(tiny: ConsoleChannel) -> None:
    flow = tiny.router.registry.flows["tiny"]
    assert flow.prefixes == ("tygo", "tyst")
    assert flow.edges() == {
        ("[*]", "start"),
        ("start", "ask"),
        ("ask", "done"),
        ("done", "[*]"),
        ("elsewhere", "[*]"),
        ("[*]", "done"),
    }


def test_a_declared_move_goes_through(tiny: ConsoleChannel, empty_app: App) -> None:
    assert said(tiny, "/tiny") == ["Go where?"]
    assert dialog(empty_app) == ("tiny", "ask", {"started": True})
    assert said(tiny, payload="tygo:done") == ["went done"]
    assert dialog(empty_app) == ("tiny", "done", {"started": True})
    assert said(tiny, "hello") == ["typed hello"]
    assert dialog(empty_app) is None


def test_a_move_the_table_does_not_declare_raises_and_nothing_is_saved(
    tiny: ConsoleChannel, empty_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    said(tiny, "/tiny")
    assert said(tiny, payload="tygo:elsewhere") == [APOLOGY]
    failures = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "chatbot.core.router"]
    assert len(failures) == 1
    assert "ValueError: flow tiny: the table does not allow a move to 'elsewhere'" in (
        failures[0].exc_text or ""
    )
    assert dialog(empty_app) == ("tiny", "ask", {"started": True})


def test_a_button_of_another_class_in_this_state_has_expired_and_the_dialog_stays(
    tiny: ConsoleChannel, empty_app: App
) -> None:
    said(tiny, "/tiny")
    # Stop belongs to this flow's "done" state, not to "ask".
    assert said(tiny, payload="tyst:1") == [EXPIRED]
    assert dialog(empty_app) == ("tiny", "ask", {"started": True})


def test_a_malformed_button_of_this_states_class_is_not_valid_and_the_dialog_stays(
    tiny: ConsoleChannel, empty_app: App
) -> None:
    said(tiny, "/tiny")
    assert said(tiny, payload="tygo:done:x") == [NOT_VALID]
    assert dialog(empty_app) == ("tiny", "ask", {"started": True})


def test_text_in_a_state_without_a_text_step_asks_for_a_button_and_the_dialog_stays(
    tiny: ConsoleChannel, empty_app: App
) -> None:
    said(tiny, "/tiny")
    assert said(tiny, "somewhere") == [CHOOSE]
    assert dialog(empty_app) == ("tiny", "ask", {"started": True})


def test_an_action_opens_the_dialog_in_a_state_the_flow_lets_actions_open(
    tiny: ConsoleChannel, empty_app: App
) -> None:
    assert said(tiny, payload="tyop:done") == ["opened"]
    assert dialog(empty_app) == ("tiny", "done", {"opened": True})
    assert said(tiny, payload="tyst:1") == ["stopped"]
    assert dialog(empty_app) is None


def test_an_action_may_not_open_the_dialog_in_any_other_state(
    tiny: ConsoleChannel, empty_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    said(tiny, "/tiny")
    assert said(tiny, payload="tyop:elsewhere") == [APOLOGY]
    failures = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "chatbot.core.router"]
    assert "ValueError: flow tiny does not let an action open it in 'elsewhere'" in (
        failures[0].exc_text or ""
    )
    # Rolled back: the dialog the chat had is as it was.
    assert dialog(empty_app) == ("tiny", "ask", {"started": True})


def test_the_table_refuses_moves_to_states_it_does_not_have() -> None:
    def step(ctx: Context, msg: Incoming) -> Outcome:
        return say("x")

    with pytest.raises(ValueError, match=r"^flow bad: start goes to undeclared states \['nowhere'\]$"):
        Flow.create("bad", Entry(step, goes_to=("nowhere",)), {}, commands=("bad",))
    with pytest.raises(ValueError, match=r"^flow bad: an action goes to undeclared states \['gone'\]$"):
        Flow.create("bad", Entry(step), {}, commands=("bad",), opened_by_actions=("gone",))
    with pytest.raises(ValueError, match=r"^flow bad: ask goes to undeclared states \['nowhere'\]$"):
        Flow.create("bad", Entry(step), {"ask": State(text=step, goes_to=("nowhere",))}, commands=("bad",))
