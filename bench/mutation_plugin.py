"""A pytest plugin for the mutation bench only.

- While mutmut links tests to functions (MUTANT_UNDER_TEST=stats) it empties every functools cache
  of the bot before each test. A function whose result is cached (holidays of a year, a parsed pack)
  would otherwise run for the first test only, and later tests, the ones that check it, would never
  be linked to its mutants. In a mutant's own session the caches are emptied once at the start (the
  fork inherits the original code's results) and then fill as in a normal run: re-parsing every pack
  for each of two hundred tests made a surviving pack mutant cost seconds.
- It keeps the shared demo-county template (tests/conftest.py, JIAXIAO_SHARED_TEMPLATES) away from
  a mutant of a function that runs while the county is seeded: bench/mutation.py lists those
  functions in seeding.txt beside the templates, and such a mutant seeds a county of its own.
- It gives tqdm (the roster import's progress bar) a new write lock in each mutant's session: the
  lock inherited through mutmut's fork can be held by a thread that did not come along, and every
  roster import then waited on it until the timeout.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest
import tqdm

SHARED = "JIAXIAO_SHARED_TEMPLATES"


def _clear_caches() -> None:
    for name, module in list(sys.modules.items()):
        if not name.startswith("chatbot") or module is None:
            continue
        for value in list(vars(module).values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear):
                clear()


def _mutant_runs_while_seeding(mutant: str, folder: Path) -> bool:
    function = mutant.rsplit("__mutmut_", 1)[0]
    listed = folder / "seeding.txt"
    # Without the list every mutant seeds its own county: slower, never wrong.
    if not listed.exists():
        return True
    return function in set(listed.read_text(encoding="utf-8").split())


def pytest_configure(config: pytest.Config) -> None:
    _clear_caches()
    tqdm.tqdm.set_lock(threading.RLock())
    folder = os.environ.get(SHARED)
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if folder and "__mutmut_" in mutant and _mutant_runs_while_seeding(mutant, Path(folder)):
        del os.environ[SHARED]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        _clear_caches()
