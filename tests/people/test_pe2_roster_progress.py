"""The roster import's two progress bars on stderr: when they are shown if nobody asks (a terminal, or
2,000 rows or more), and, under a clock that ticks 0.3 s per reading, exactly which counts each bar
draws: the checking bar redraws at most every 0.5 s, the importing bar moves a quarter at a time and
ends at the number of rows, both counting in rows."""

from __future__ import annotations

import itertools
import re
import sys
from datetime import datetime
from pathlib import Path

import pytest
import tqdm.std

from chatbot.app import App
from chatbot.i18n import use_locale
from chatbot.people.roster import import_file
from db.session import transaction
from tests.people.rostergen import roster_rows, write_csv

FRAME = re.compile(r"^(\w+): +\d+%\|[^|]*\| (\d+)/(\d+) \[[^,\]]*, +[\d.?]+(\w+)/s\]\n?$")


def frames(err: str) -> list[tuple[str, int, int, str]]:
    """Each redraw of a bar: its label, count, total and unit."""
    drawn = []
    for text in err.split("\r")[1:]:
        match = FRAME.match(text)
        assert match is not None, text
        label, count, total, unit = match.groups()
        drawn.append((label, int(count), int(total), unit))
    return drawn


def run(app: App, path: Path, now: datetime, show_progress: bool | None) -> None:
    with transaction(app.session_factory) as session, use_locale("en"):
        counts, errors = import_file(session, path, "c1", now, show_progress=show_progress)
    assert errors == [] and counts is not None


def test_2000_rows_show_both_bars_unasked(
    empty_app: App, tmp_path: Path, now: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    run(empty_app, write_csv(tmp_path / "r.csv", roster_rows(2000)), now, None)
    err = capsys.readouterr().err
    assert "checking: 100%" in err and "importing: 100%" in err and "2000/2000" in err


def test_a_terminal_shows_both_bars_for_a_small_file(
    empty_app: App,
    tmp_path: Path,
    now: datetime,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    run(empty_app, write_csv(tmp_path / "r.csv", roster_rows(3)), now, None)
    labels = {label for label, *_rest in frames(capsys.readouterr().err)}
    assert labels == {"checking", "importing"}


def test_what_each_bar_draws_under_a_steady_clock(
    empty_app: App,
    tmp_path: Path,
    now: datetime,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    readings = itertools.count()
    monkeypatch.setattr(tqdm.std, "time", lambda: next(readings) * 0.3)
    monkeypatch.setattr(tqdm.std.tqdm, "monitor_interval", 0)
    run(empty_app, write_csv(tmp_path / "r.csv", roster_rows(10)), now, True)
    checking = [("checking", n, 10, "rows") for n in (0, 2, 4, 6, 8, 10, 10)]
    importing = [("importing", n, 10, "rows") for n in (0, 2, 4, 6, 10, 10)]
    assert frames(capsys.readouterr().err) == checking + importing
