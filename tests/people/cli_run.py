"""`bot.py ARGS` run in this process with the test's clock, on a county's database, in tmp_path."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from chatbot.cli import main
from chatbot.i18n import use_locale

# Settings a developer's environment may hold that would change what the commands print.
OWN_SETTINGS = ("TIMEZONE", "DEFAULT_LOCALE", "LOG_FILE", "TELEGRAM_TOKEN", "WECHAT_TOKEN")


@dataclass
class Result:
    code: int
    out: str
    err: str


class InProcessCli:
    """Runs `main(argv)` with DATABASE_URL and DEFAULT_LOCALE set, and returns its exit code and output."""

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
        now: datetime,
    ) -> None:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("LOG_LEVEL", "WARNING")
        for name in OWN_SETTINGS:
            monkeypatch.delenv(name, raising=False)
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        self.now = now

    def __call__(self, url: str, *argv: str, locale: str = "zh_Hans", seconds: float | None = None) -> Result:
        self.monkeypatch.setenv("DATABASE_URL", url)
        self.monkeypatch.setenv("DEFAULT_LOCALE", locale)
        if seconds is not None:
            # The people commands' stopwatch: started at 100.0 s, read again `seconds` later.
            readings = iter([100.0, 100.0 + seconds])
            self.monkeypatch.setattr(
                "chatbot.people.cli.time", SimpleNamespace(perf_counter=lambda: next(readings))
            )
        with use_locale("zh_Hans"):
            code = main(list(argv), clock=lambda: self.now)
        out, err = self.capsys.readouterr()
        return Result(code, out, err)
