"""2027 and later through the real commands: holidays close nothing, provisional 调休 is said to those who
decide, the State Council's arrangement comes in with `calendar import`, and listings carry years."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.cli import main
from db.models import AuditLog
from db.models.attendance import AttendanceRecord
from db.models.calendar import OfficialDayEntry
from db.models.delivery import OutboxMessage
from tests.conftest import DemoPeople

# Tuesday 4 May 2027, 11:00 in Shanghai: after every school's roll-call cutoff.
MAY_4_2027_11AM = datetime(2027, 5, 4, 3, 0, tzinfo=UTC)
MAY_6_2027_11AM = datetime(2027, 5, 6, 3, 0, tzinfo=UTC)

ARRANGEMENT_2027 = """
official:
  year: 2027
  days_off:
    - {holiday: 元旦, start: 2027-01-01, end: 2027-01-03}
    - {holiday: 春节, start: 2027-02-05, end: 2027-02-11}
    - {holiday: 清明节, start: 2027-04-03, end: 2027-04-05}
    - {holiday: 劳动节, start: 2027-05-01, end: 2027-05-05}
    - {holiday: 端午节, start: 2027-06-09}
    - {holiday: 中秋节, start: 2027-09-15}
    - {holiday: 国庆节, start: 2027-10-01, end: 2027-10-07}
  workdays: [2027-02-20, 2027-05-08, 2027-10-09]
"""


@pytest.fixture
def cli(app: App, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", app.settings.database_url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")

    def run(*argv: str, now: datetime = MAY_4_2027_11AM) -> int:
        return main(list(argv), clock=lambda: now)

    return run


def counts(app: App) -> tuple[int, int]:
    with app.session_factory() as s:
        return (
            int(s.scalar(select(func.count()).select_from(AttendanceRecord)) or 0),
            int(s.scalar(select(func.count()).select_from(OutboxMessage)) or 0),
        )


def test_close_day_on_labour_day_2027_closes_nothing(app: App, cli, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli("close-day", "--date", "2027-05-04") == 0
    out = capsys.readouterr().out
    assert "0所学校（跳过2所）" in out and "0个班未点名" in out
    assert counts(app) == (0, 0)


def test_close_day_on_an_ordinary_2027_school_day_does_close(app: App, cli, capsys) -> None:  # type: ignore[no-untyped-def]
    # The contrast that shows the holiday, not a skipped command, made the difference above.
    assert cli("close-day", "--date", "2027-05-06", now=MAY_6_2027_11AM) == 0
    out = capsys.readouterr().out
    assert "2所学校（跳过0所）" in out and "个班未点名" in out and "0个班未点名" not in out


def test_calendar_show_marks_2027_provisional_and_shows_years_across_new_year(app: App, cli, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli("calendar", "show", "--school", "红星小学", "--from", "2026-12-20", "--days", "60") == 0
    out = capsys.readouterr().out
    assert "2027年1月16日 周六 – 2月21日 周日：寒假" in out
    assert "2027年1月1日 周五：元旦（放假）" in out
    assert "尚未确认" in out and "2027" in out and "calendar import" in out


def test_calendar_show_within_one_year_has_no_years(app: App, cli, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli("calendar", "show", "--school", "红星小学", "--from", "2027-04-25", "--days", "20") == 0
    out = capsys.readouterr().out
    assert "2月22日 周一 – 7月9日 周五：春季学期" in out and "2027年1" not in out and "2027年5" not in out


def test_a_confirmed_year_carries_no_note(app: App, cli, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli("calendar", "show", "--school", "红星小学", "--from", "2026-12-01", "--days", "20") == 0
    assert "尚未确认" not in capsys.readouterr().out  # 2026 is confirmed by chinesecalendar


def test_importing_the_arrangement_confirms_the_year_and_replaces_the_library(
    app: App, cli, capsys, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "official-2027.yaml"
    path.write_text(ARRANGEMENT_2027, encoding="utf-8")
    assert cli("calendar", "import", str(path)) == 0
    assert "2027" in capsys.readouterr().out
    assert cli("calendar", "import", str(path)) == 0  # again: replaced, not doubled
    with app.session_factory() as s:
        rows = list(s.scalars(select(OfficialDayEntry).order_by(OfficialDayEntry.day)))
        assert len(rows) == 3 + 7 + 3 + 5 + 1 + 1 + 7 + 3
        assert [r.day for r in rows if r.workday] == [date(2027, 2, 20), date(2027, 5, 8), date(2027, 10, 9)]
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "calendar.import")).all()
        assert [a.details["official_years"] for a in audit] == [[2027], [2027]]
    capsys.readouterr()
    assert cli("calendar", "show", "--school", "红星小学", "--from", "2027-04-25", "--days", "20") == 0
    out = capsys.readouterr().out
    assert "5月1日 周六 – 5月5日 周三：劳动节（放假）" in out
    assert "5月8日 周六：调休上班，照常上课" in out
    assert "尚未确认" not in out
    # 5 May is now a holiday, and Saturday 8 May a school day.
    assert cli("close-day", "--date", "2027-05-05", now=datetime(2027, 5, 5, 3, tzinfo=UTC)) == 0
    assert "0所学校（跳过2所）" in capsys.readouterr().out
    assert cli("close-day", "--date", "2027-05-08", now=datetime(2027, 5, 8, 3, tzinfo=UTC)) == 0
    assert "2所学校（跳过0所）" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("yaml_text", "problem"),
    [
        (ARRANGEMENT_2027.replace("元旦", "圣诞节"), "圣诞节"),
        (ARRANGEMENT_2027.replace("2027-05-08,", "2027-05-06,"), "2027-05-06"),  # a Thursday
        (ARRANGEMENT_2027.replace("2027-02-20", "2027-02-06"), "2027-02-06"),  # both off and work
        (ARRANGEMENT_2027.replace("end: 2027-10-07", "end: 2027-09-29"), "放假安排第1项"),
        (ARRANGEMENT_2027.replace("year: 2027", "year: 2028"), "2027-01-01"),
    ],
)
def test_a_bad_arrangement_imports_nothing(
    app: App, cli, capsys, tmp_path: Path, yaml_text: str, problem: str
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    assert cli("calendar", "import", str(path)) == 2
    err = capsys.readouterr().err
    assert problem in err and "没有导入任何内容" in err
    with app.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(OfficialDayEntry)) == 0


def test_admins_see_provisional_years_in_chat_and_parents_do_not(app: App, demo: DemoPeople) -> None:
    december = datetime(2026, 12, 20, 1, tzinfo=UTC)
    console = ConsoleChannel(app.session_factory, app.router, clock=lambda: december)
    admin = "\n".join(r.text for r in console.send(demo.admin, "/calendar"))
    parent = "\n".join(r.text for r in console.send(demo.parent, "/calendar"))
    assert "尚未确认" in admin and "2027" in admin
    assert "尚未确认" not in parent
    assert "2027年1月16日 周六 – 2月21日 周日：寒假" in parent  # the listing reaches into 2027
