"""Stateful fuzzing of real dialogs: Hypothesis presses buttons the bot really showed, at the wrong time.

The lead's tests/core/test_fuzz.py throws random text and made-up payloads. This one keeps every
button each role was ever shown and replays them (stale, from finished dialogs), truncates them,
re-targets them (the same button with another pupil's, class's, leave's or case's id), and sends
commands in the middle of other dialogs. Every input gets a reply, no update fails, the stored
dialog state is always a declared state, and nothing the role may not touch changes.

FUZZ_DIALOG_EXAMPLES sets the examples per role (default 15; the slow run uses 2,000).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.core.domains import default_registry
from db.models import DialogState
from tests.attendance.helpers import MONDAY, at
from tests.core.test_fuzz import APOLOGY_MARKERS, COMMANDS
from tests.reliability.test_authz_matrix import World, _fingerprint

EXAMPLES = int(os.environ.get("FUZZ_DIALOG_EXAMPLES", "15"))
registry = default_registry()
# Typed words that start flows without a command.
WORDS = [
    "请假",
    "孩子今天生病了",
    "缺 1 2",
    "病假 1",
    "迟到 3",
    "补助",
    "1",
    "2",
    "3",
    "9",
    "取消",
    "明天",
    "11-24",
]

# What a step does with a remembered button: press as is, cut it, or swap one of its numbers.
step = st.one_of(
    st.tuples(st.just("press"), st.integers(0, 10_000)),
    st.tuples(st.just("truncate"), st.integers(0, 10_000), st.integers(1, 20)),
    st.tuples(st.just("retarget"), st.integers(0, 10_000), st.integers(0, 10_000)),
    st.tuples(st.just("command"), st.sampled_from(COMMANDS)),
    st.tuples(st.just("word"), st.sampled_from(WORDS)),
)

NUMBER = re.compile(r"(?<=:)-?\d+")


def _retarget(payload: str, pick: int, foreign: list[int]) -> str:
    numbers = list(NUMBER.finditer(payload))
    if not numbers:
        return payload
    match = numbers[pick % len(numbers)]
    value = foreign[pick % len(foreign)]
    return payload[: match.start()] + str(value) + payload[match.end() :]


@pytest.mark.parametrize("role", ["parent", "teacher", "principal", "admin", "guest"])
def test_stale_replayed_truncated_and_retargeted_buttons(role: str, app: App, demo: Any) -> None:
    _run(role, app, demo, EXAMPLES)


@pytest.mark.slow
@pytest.mark.parametrize("role", ["parent", "teacher", "principal", "admin", "guest"])
def test_stale_replayed_truncated_and_retargeted_buttons_long(role: str, app: App, demo: Any) -> None:
    _run(role, app, demo, int(os.environ.get("FUZZ_DIALOG_EXAMPLES_LONG", "2000")))


def _run(role: str, app: App, demo: Any, examples: int) -> None:
    now = at(MONDAY, 8)
    console = ConsoleChannel(app.session_factory, app.router, clock=lambda: now)
    world = World(app, demo, now)
    outside = world.pupils[role]
    foreign = [
        outside.student_id,
        outside.class_id,
        outside.school_id,
        outside.region_id,
        outside.leave_id,
        outside.record_id,
        outside.case_id,
        outside.broadcast_id,
        outside.guardian_id,
    ]
    who: int | str = "fuzz-dialog-guest" if role == "guest" else demo.ids[role]
    seen: list[str] = ["go:help"]
    # Table → (column holding the id, the outside object's id).
    protected = {
        "leave_request": (0, outside.leave_id),
        "dropout_case": (0, outside.case_id),
        "case_event": (1, outside.case_id),
        "broadcast": (0, outside.broadcast_id),
        "attendance_record": (0, outside.record_id),
    }

    def talk(kind: str, value: str) -> None:
        replies = console.send(who, payload=value) if kind == "payload" else console.send(who, value)
        assert replies, f"no reply to {kind} {value!r}"
        joined = "\n".join(r.text for r in replies)
        assert not any(m in joined for m in APOLOGY_MARKERS), f"update failed for {kind} {value!r}"
        assert outside.name not in joined, f"{kind} {value!r} showed a pupil outside the scope"
        for reply in replies:
            for button in reply.flat_buttons():
                if button.payload not in seen:
                    seen.append(button.payload)

    # Prime the pool with every flow's first buttons.
    for command in COMMANDS:
        talk("text", command)
    baseline = _fingerprint(app)

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(step, min_size=1, max_size=6))
    def run(steps: list[tuple[Any, ...]]) -> None:
        for action in steps:
            kind = action[0]
            if kind == "press":
                talk("payload", seen[action[1] % len(seen)])
            elif kind == "truncate":
                payload = seen[action[1] % len(seen)]
                talk("payload", payload[: max(0, len(payload) - action[2])] or payload[:1])
            elif kind == "retarget":
                talk("payload", _retarget(seen[action[1] % len(seen)], action[2], foreign))
            elif kind == "command":
                talk("text", action[1])
            else:
                talk("text", action[1])
            with app.session_factory() as s:
                for dialog in s.scalars(select(DialogState)):
                    flow = registry.flows.get(dialog.flow)
                    assert flow is not None and dialog.state in flow.states
        # Rows about the outside pupil never change, whatever was pressed.
        after = _fingerprint(app)
        for table, (column, ident) in protected.items():
            assert _about(after[table], column, ident) == _about(baseline[table], column, ident), table

    run()


def _about(dump: str, column: int, ident: int) -> list[str]:
    """The rows of a table dump whose `column` holds `ident`."""
    return sorted(json.dumps(r) for r in json.loads(dump) if r and r[column] == str(ident))
