"""Hypothesis drives random input at every flow through the console harness, as every role.

Every input must get a reply, no update may fail (the router's apology means an unhandled
exception), and the stored dialog state must always name a registered flow and state.
Run long: FUZZ_EXAMPLES=10000 python -m pytest tests/core/test_fuzz.py
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.core.domains import default_registry
from chatbot.core.payloads import Payload
from db.models import DialogState

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
APOLOGY_MARKERS = ("出了点问题", "出了點問題", "something went wrong")

registry = default_registry()
COMMANDS = sorted({f"/{c}" for f in registry.flows.values() for c in f.commands} | {"/cancel"})
PREFIXES = sorted(
    set(Payload.registry)
    | set(registry.actions)
    | {p for f in registry.flows.values() for p in f.prefixes}
    | {"go"}
)

nasty_text = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=4000, max_size=4096),
    st.sampled_from(
        [
            "'; DROP TABLE student; --",
            "<b>bold</b><script>alert(1)</script>",
            "\u202eRTL override\u202c مرحبا",
            "👨‍👩‍👧‍👦🏫📚" * 20,
            "\x00\x01\x02\x1b[31m",
            "缺 3 7 12",
            "病假 王小明",
            "请假",
            "我家孩子上初中住校，是建档立卡户，能领什么补助？",
            "0",
            "99",
            "1",
            "2",
            "%s%s%n{0}{name}",
        ]
    ),
)
command_text = st.builds(
    lambda c, tail: f"{c} {tail}".strip(), st.sampled_from(COMMANDS), st.text(max_size=20)
)
payload = st.one_of(
    st.builds(
        lambda p, parts: ":".join([p, *parts]),
        st.sampled_from(PREFIXES),
        st.lists(st.one_of(st.integers(-5, 10**6).map(str), st.text("abcxyz019_-", max_size=8)), max_size=5),
    ),
    st.text(max_size=70),
)
step = st.one_of(
    nasty_text.map(lambda t: ("text", t)),
    command_text.map(lambda t: ("text", t)),
    payload.map(lambda p: ("payload", p)),
)


@pytest.mark.parametrize("role", ["parent", "teacher", "principal", "admin", "guest"])
def test_every_input_gets_a_sane_reply(role: str, app: App, console: ConsoleChannel, demo) -> None:  # type: ignore[no-untyped-def]
    who: int | str = "fuzz-guest" if role == "guest" else demo.ids[role]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )
    @given(st.lists(step, min_size=1, max_size=4))
    def run(steps: list[tuple[str, str]]) -> None:
        for kind, value in steps:
            replies = console.send(who, value) if kind == "text" else console.send(who, payload=value)
            assert replies, f"no reply to {kind} {value!r}"
            joined = "\n".join(r.text for r in replies)
            assert not any(m in joined for m in APOLOGY_MARKERS), f"update failed for {kind} {value!r}"
            assert all(r.text.strip() for r in replies)
            with app.session_factory() as s:
                for dialog in s.scalars(select(DialogState)):
                    flow = registry.flows.get(dialog.flow)
                    assert flow is not None and dialog.state in flow.states

    run()
