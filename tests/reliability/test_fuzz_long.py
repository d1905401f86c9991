"""The long fuzz run in `-m slow`: the lead's random-input fuzz at 2,000 examples per role (10,000 in all).

Same as `FUZZ_EXAMPLES=2000 pytest tests/core/test_fuzz.py`; FUZZ_EXAMPLES_LONG changes the count.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from tests.core import test_fuzz

LONG = int(os.environ.get("FUZZ_EXAMPLES_LONG", "2000"))


@pytest.mark.slow
@pytest.mark.parametrize("role", ["parent", "teacher", "principal", "admin", "guest"])
def test_every_input_gets_a_sane_reply_2000_per_role(
    role: str, app: App, console: ConsoleChannel, demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(test_fuzz, "EXAMPLES", LONG)
    test_fuzz.test_every_input_gets_a_sane_reply(role, app, console, demo)
