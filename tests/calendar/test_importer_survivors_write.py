"""Writing an import: only the file's own scopes are replaced, the replaced count adds up over every
scope, rule overrides keep a region's other settings, the audit row is exact, and terms or vacations
overlap (even on a shared first or last day) only within one scope."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.calendar.importer import ImportResult, import_calendar
from chatbot.cli import main
from db.models import AuditLog, Region, School
from db.models.calendar import CalendarEntry, CalendarKind
from db.session import transaction
from tests.calendar.test_import import GOOD_YAML
from tests.calendar.test_importer_survivors_read import imported, problems_of, write
from tests.calendar.test_official_parts import NOW, add_school
from tests.conftest import DemoPeople


def school_id(app: App, name: str) -> int:
    with app.session_factory() as s:
        return s.scalars(select(School.id).where(School.name == name)).one()


def region_id(app: App, code: str) -> int:
    with app.session_factory() as s:
        return s.scalars(select(Region.id).where(Region.code == code)).one()


def add_entry(app: App, region: int, school: int | None, kind: CalendarKind, name: str, day: date) -> None:
    with transaction(app.session_factory) as s:
        s.add(
            CalendarEntry(
                region_id=region,
                school_id=school,
                kind=kind,
                name=name,
                first_day=day,
                last_day=day,
                created_at=NOW,
            )
        )


def entries_from(app: App, first: date) -> list[tuple[str, int | None, str, str, date, date, str | None]]:
    """(region code, school id, kind, name, first day, last day, note) of the entries from `first` on."""
    with app.session_factory() as s:
        rows = s.execute(
            select(CalendarEntry, Region.code)
            .join(Region, Region.id == CalendarEntry.region_id)
            .where(CalendarEntry.first_day >= first)
            .order_by(CalendarEntry.first_day, CalendarEntry.id)
        )
        return [
            (code, e.school_id, e.kind.value, e.name, e.first_day, e.last_day, e.note) for e, code in rows
        ]


def test_a_second_import_counts_the_entries_replaced_in_every_scope(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", app.settings.database_url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    cli = functools.partial(main, clock=app.clock)
    path = write(tmp_path, "cal.yaml", GOOD_YAML)
    assert cli(["calendar", "import", str(path)]) == 0
    assert cli(["calendar", "import", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "已为 linxia-demo 导入 4 条校历（替换 0 条）。",
        "已设置提醒规则：2 条。",
        "已为 linxia-demo 导入 4 条校历（替换 4 条）。",
        "已设置提醒规则：2 条。",
    ]


def test_an_import_keeps_other_regions_entries_on_the_same_days(app: App, tmp_path: Path) -> None:
    add_school(app, "gansu-empty", "山村小学")
    add_entry(app, region_id(app, "gansu-empty"), None, CalendarKind.DAY_OFF, "运动会", date(2027, 10, 12))
    path = write(
        tmp_path, "cal.yaml", "region: linxia-demo\nentries:\n  - {kind: day_off, start: 2027-10-12}\n"
    )
    assert imported(app, path) == ImportResult(entries=1, replaced=0, regions={"linxia-demo"})
    assert entries_from(app, date(2027, 10, 12)) == [
        ("gansu-empty", None, "day_off", "运动会", date(2027, 10, 12), date(2027, 10, 12), None),
        ("linxia-demo", None, "day_off", "", date(2027, 10, 12), date(2027, 10, 12), None),
    ]


def test_a_region_import_keeps_a_schools_own_entries_and_names_its_terms(app: App, tmp_path: Path) -> None:
    hongxing = school_id(app, "红星小学")
    add_entry(
        app, region_id(app, "linxia-demo"), hongxing, CalendarKind.DAY_OFF, "运动会", date(2027, 10, 12)
    )
    path = write(
        tmp_path,
        "cal.yaml",
        "region: linxia-demo\nentries:\n"
        "  - {kind: term, name: autumn, start: 2027-09-01, end: 2028-01-14, note: 秋季学期}\n",
    )
    assert imported(app, path) == ImportResult(entries=1, replaced=0, regions={"linxia-demo"})
    assert entries_from(app, date(2027, 9, 1)) == [
        ("linxia-demo", None, "term", "autumn", date(2027, 9, 1), date(2028, 1, 14), "秋季学期"),
        ("linxia-demo", hongxing, "day_off", "运动会", date(2027, 10, 12), date(2027, 10, 12), None),
    ]


def test_reminder_rules_keep_the_regions_other_settings(app: App, tmp_path: Path) -> None:
    with transaction(app.session_factory) as s:
        region = s.scalars(select(Region).where(Region.code == "linxia-demo")).one()
        region.settings = {"greeting": "你好"}
    path = write(tmp_path, "cal.yaml", "region: linxia-demo\nreminders: {term_start: {days_before: [7]}}\n")
    assert imported(app, path) == ImportResult(
        entries=0, replaced=0, regions={"linxia-demo"}, rule_overrides=1
    )
    with app.session_factory() as s:
        assert s.scalars(select(Region.settings).where(Region.code == "linxia-demo")).one() == {
            "greeting": "你好",
            "reminders": {
                "term_start": {
                    "enabled": True,
                    "days_before": [7],
                    "at": "18:30:00",
                    "school_days_after": 3,
                    "minutes_before_cutoff": 30,
                }
            },
        }


def test_the_audit_row_names_the_actor_the_regions_the_file_and_the_counts(
    app: App, tmp_path: Path, demo: DemoPeople
) -> None:
    add_school(app, "gansu-empty", "山村小学")
    path = write(
        tmp_path,
        "two.csv",
        "region,kind,start\nlinxia-demo,day_off,2027-10-12\ngansu-empty,day_off,2027-10-13\n",
    )
    with transaction(app.session_factory) as s:
        result = import_calendar(s, path, NOW, actor_id=demo.admin)
    assert result == ImportResult(entries=2, replaced=0, regions={"linxia-demo", "gansu-empty"})
    with app.session_factory() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "calendar.import")).one()
        assert (audit.actor_person_id, audit.target, audit.details) == (
            demo.admin,
            "gansu-empty,linxia-demo",
            {"file": "two.csv", "entries": 2, "replaced": 0, "official_years": []},
        )


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        (
            "  - {kind: term, name: autumn, start: 2027-09-01, end: 2028-01-14}\n"
            "  - {kind: vacation, name: winter, start: 2028-01-14, end: 2028-02-13}\n",
            "第2项：与第1项（term autumn）重叠",
        ),
        (
            "  - {kind: vacation, name: winter, start: 2028-01-14, end: 2028-02-13}\n"
            "  - {kind: term, name: autumn, start: 2027-09-01, end: 2028-01-14}\n",
            "第2项：与第1项（vacation winter）重叠",
        ),
    ],
    ids=["starts on the last day", "ends on the first day"],
)
def test_periods_sharing_one_day_overlap(app: App, tmp_path: Path, entries: str, problem: str) -> None:
    path = write(tmp_path, "cal.yaml", "region: linxia-demo\nentries:\n" + entries)
    assert problems_of(app, path) == [problem]


def test_a_schools_term_may_overlap_its_regions_term(app: App, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "cal.yaml",
        "region: linxia-demo\nentries:\n"
        "  - {kind: term, name: autumn, start: 2027-09-01, end: 2028-01-14}\n"
        "  - {kind: term, name: autumn, school: 红星小学, start: 2027-09-03, end: 2028-01-12}\n"
        "  - {kind: term, name: autumn, school: 东乡第一初级中学, start: 2027-09-02, end: 2028-01-13}\n",
    )
    assert imported(app, path) == ImportResult(entries=3, replaced=0, regions={"linxia-demo"})
