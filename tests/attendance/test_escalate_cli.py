"""`bot.py escalate-cases`, run in-process through `chatbot.cli.main` on the test database: a bad date is
refused with one line and exit code 2; otherwise the cases are escalated on the given (or the clock's
local) day, at the clock's moment, and the real count is printed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.cli import main
from chatbot.i18n import use_locale
from db.models.attendance import CaseEvent, CaseEventKind, DropoutCase
from tests.attendance.helpers import MONDAY, at, cli_environment, open_case

THURSDAY, FRIDAY = MONDAY + timedelta(days=3), MONDAY + timedelta(days=4)
NEXT_MONDAY, NEXT_TUESDAY = MONDAY + timedelta(days=7), MONDAY + timedelta(days=8)


@pytest.fixture
def cli(app: App, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[list[str], datetime], int]:
    """`bot.py ARGS` on the test database with the given process clock (never the wall clock)."""
    cli_environment(app, monkeypatch, tmp_path)

    def run(argv: list[str], clock: datetime) -> int:
        with use_locale("zh_Hans"):  # main sets the locale itself; this only keeps tests apart
            return main(argv, clock=lambda: clock)

    return run


def _case(app: App, case_id: int) -> tuple[int, int | None]:
    with app.session_factory() as s:
        case = s.get(DropoutCase, case_id)
        assert case is not None
        return case.level, case.assignee_id


def _escalations(app: App, case_id: int) -> list[tuple[datetime, int]]:
    with app.session_factory() as s:
        return [
            (e.at, e.level)
            for e in s.scalars(
                select(CaseEvent)
                .where(CaseEvent.case_id == case_id, CaseEvent.kind == CaseEventKind.ESCALATED)
                .order_by(CaseEvent.id)
            )
        ]


def test_escalate_cases_prints_the_real_count_for_the_given_day(  # type: ignore[no-untyped-def]
    cli, console: ConsoleChannel, app: App, demo, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id, _pupil = open_case(console, app, demo.teacher)
    capsys.readouterr()

    # One school day of silence: nothing moves.
    assert cli(["escalate-cases", "--date", THURSDAY.isoformat()], at(THURSDAY, 8)) == 0
    assert capsys.readouterr() == ("已上报0个台账。\n", "")
    assert _case(app, case_id) == (0, demo.teacher)

    # Two: up to the principal, logged at the process clock's moment.
    assert cli(["escalate-cases", "--date", FRIDAY.isoformat()], at(FRIDAY, 8, 15)) == 0
    assert capsys.readouterr() == ("已上报1个台账。\n", "")
    assert _case(app, case_id) == (1, demo.principal)
    assert _escalations(app, case_id) == [(at(FRIDAY, 8, 15), 1)]

    # The same day again: idempotent, and the count printed is the real one.
    assert cli(["escalate-cases", "--date", FRIDAY.isoformat()], at(FRIDAY, 9)) == 0
    assert capsys.readouterr() == ("已上报0个台账。\n", "")
    assert _escalations(app, case_id) == [(at(FRIDAY, 8, 15), 1)]


def test_escalate_cases_without_a_date_uses_the_clocks_local_day(  # type: ignore[no-untyped-def]
    cli, console: ConsoleChannel, app: App, demo, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id, _pupil = open_case(console, app, demo.teacher)
    assert cli(["escalate-cases", "--date", FRIDAY.isoformat()], at(FRIDAY, 8)) == 0
    assert _case(app, case_id)[0] == 1
    capsys.readouterr()
    # 07:00 on Tuesday in Shanghai is still Monday in UTC: on Monday only one school day has passed
    # since Friday, so escalating here shows the day is the local one, not the UTC one.
    tuesday_early = at(NEXT_TUESDAY, 7)
    assert tuesday_early.date() == NEXT_MONDAY
    assert cli(["escalate-cases"], tuesday_early) == 0
    assert capsys.readouterr() == ("已上报1个台账。\n", "")
    assert _case(app, case_id)[0] == 2
    assert _escalations(app, case_id) == [(at(FRIDAY, 8), 1), (tuesday_early, 2)]


def test_escalate_cases_without_a_date_reaches_two_days_on_friday_morning(  # type: ignore[no-untyped-def]
    cli, console: ConsoleChannel, app: App, demo, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id, _pupil = open_case(console, app, demo.teacher)
    capsys.readouterr()
    # 07:00 on Friday in Shanghai: Thursday in UTC would be one day of silence; Friday is two.
    assert cli(["escalate-cases"], at(FRIDAY, 7)) == 0
    assert capsys.readouterr() == ("已上报1个台账。\n", "")
    assert _case(app, case_id) == (1, demo.principal)
    # 07:00 on Monday in Shanghai: only one school day after Friday (the weekend does not count).
    assert cli(["escalate-cases"], at(NEXT_MONDAY, 7)) == 0
    assert capsys.readouterr() == ("已上报0个台账。\n", "")
    assert _case(app, case_id)[0] == 1


@pytest.mark.parametrize("value", ["2026-11-31", "27.11.2026", "tomorrow"])
def test_escalate_cases_refuses_a_bad_date(  # type: ignore[no-untyped-def]
    cli, console: ConsoleChannel, app: App, demo, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    case_id, _pupil = open_case(console, app, demo.teacher)
    capsys.readouterr()
    assert cli(["escalate-cases", "--date", value], at(NEXT_TUESDAY, 8)) == 2
    assert capsys.readouterr() == ("", f"不是日期：{value}。请用 YYYY-MM-DD 格式。\n")
    assert _case(app, case_id) == (0, demo.teacher)  # nothing was escalated
    assert _escalations(app, case_id) == []


def test_escalate_cases_speaks_the_configured_language(  # type: ignore[no-untyped-def]
    cli, app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    assert cli(["escalate-cases", "--date", "2026-02-30"], at(FRIDAY, 8)) == 2
    assert capsys.readouterr() == ("", "Not a date: 2026-02-30. Use YYYY-MM-DD.\n")
    assert cli(["escalate-cases", "--date", FRIDAY.isoformat()], at(FRIDAY, 8)) == 0
    assert capsys.readouterr() == ("0 cases escalated.\n", "")
