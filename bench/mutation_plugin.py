"""A pytest plugin for the mutation bench only: empty every functools cache of the bot before each test.

mutmut links a mutant to the tests that executed its function while the suite ran once. A function
whose result is cached (holidays of a year, a parsed pack) runs for the first test only, so later
tests, the ones that check it, would never be linked to its mutants.
"""

from __future__ import annotations

import sys

import pytest


def _clear_caches() -> None:
    for name, module in list(sys.modules.items()):
        if not name.startswith("chatbot") or module is None:
            continue
        for value in list(vars(module).values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear):
                clear()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _clear_caches()
