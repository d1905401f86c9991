"""`bot.py calendar import/show`: validated files, bad rows named, all or nothing, idempotent."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chatbot.app import App
from chatbot.cli import main
from db.models import AuditLog, Region
from db.models.calendar import CalendarEntry

GOOD_YAML = """
region: linxia-demo
entries:
  - {kind: term, name: autumn, start: 2027-09-01, end: 2028-01-14}
  - {kind: vacation, name: winter, start: 2028-01-15, end: 2028-02-13}
  - {kind: day_off, school: 红星小学, start: 2027-10-12, note: sports day}
  - {kind: school_day, school: 东乡第一初级中学, start: 2027-10-16}
reminders:
  term_start: {days_before: [10, 2], at: "19:00"}
  spring_festival: {enabled: false}
"""


@pytest.fixture
def cli(app: App, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", app.settings.database_url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    return functools.partial(main, clock=app.clock)


def entries(app: App) -> int:
    with app.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(CalendarEntry)) or 0)


def test_yaml_import_is_idempotent_and_sets_rules(app: App, cli, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    before = entries(app)
    path = tmp_path / "cal.yaml"
    path.write_text(GOOD_YAML, encoding="utf-8")
    assert cli(["calendar", "import", str(path)]) == 0
    assert entries(app) == before + 4
    assert cli(["calendar", "import", str(path)]) == 0
    assert entries(app) == before + 4  # the second import replaced, not duplicated
    with app.session_factory() as s:
        region = s.scalars(select(Region)).one()
        assert region.settings["reminders"]["term_start"]["days_before"] == [10, 2]
        assert region.settings["reminders"]["spring_festival"]["enabled"] is False
        assert (
            s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "calendar.import"))
            == 2
        )
    assert cli(["calendar", "show", "--school", "红星小学", "--from", "2027-10-01", "--days", "20"]) == 0
    out = capsys.readouterr().out
    assert "10月12日" in out and "sports day" in out


BAD_FILES = [
    (
        "bad.csv",
        "region,school,kind,name,start,end,note\n"
        "linxia-demo,,term,autumn,2027-09-01,2028-01-14,\n"
        "linxia-demo,不存在小学,day_off,,2027-10-12,,\n"
        "linxia-demo,,holiday,,2027-10-12,,\n"
        "linxia-demo,,vacation,winter,2028-01-10,2028-02-10,\n"
        "nowhere,,day_off,,2027-10-01,,\n"
        "linxia-demo,,day_off,,2027-10-05,2027-10-01,\n",
        ["第3行", "第4行", "第5行", "第6行", "第7行"],
    ),
    ("bad.yaml", "region: linxia-demo\nentries: [{kind: term, start: 2027-09-01}]\n", ["第1项"]),
    ("bad.yaml", "region: [unclosed\n", ["YAML"]),
    ("bad.txt", "whatever", [".yaml"]),
    (
        "bad.yaml",
        "region: linxia-demo\nentries: []\nreminders: {term_start: {days_before: [99]}}\n",
        ["days_before"],
    ),
]


def test_bad_files_name_each_problem_and_import_nothing(app: App, cli, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    before = entries(app)
    for name, content, problems in BAD_FILES:
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        assert cli(["calendar", "import", str(path)]) == 2, name
        err = capsys.readouterr().err
        for problem in problems:
            assert problem in err, (name, problem, err)
        assert "没有导入任何内容" in err
        assert entries(app) == before


def test_show_rejects_unknown_region(cli, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli(["calendar", "show", "--region", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_demo_calendar_is_this_school_year(app: App) -> None:
    with app.session_factory() as s:
        rows = {(e.kind.value, e.name): (e.first_day, e.last_day) for e in s.scalars(select(CalendarEntry))}
    assert rows[("term", "autumn")][0] == date(2026, 9, 1)
    winter_first, winter_last = rows[("vacation", "winter")]
    assert winter_first < date(2027, 2, 5) < winter_last  # 除夕 2027 falls in the winter vacation
    assert rows[("term", "spring")][0] == date(2027, 2, 22)
    assert rows[("vacation", "summer")][1] == date(2027, 8, 31)
