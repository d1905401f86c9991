"""Roster import into a county named for the first time (the region row it creates, field by field) and the
stage each new school gets from its lowest grade: 6 is primary, 7–9 junior, 10 and up senior."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from chatbot.app import App
from chatbot.people.roster import import_file, stage_for_grade
from db.models import Region, School, Stage
from db.session import transaction
from tests.people.rostergen import write_csv


def _row(school: str, grade: int, no: str) -> list[str]:
    return [school, str(grade), "1班", no, "王小明", "男", "否", "", "", "", "", "", ""]


def test_stages_at_the_boundaries() -> None:
    assert [stage_for_grade(g) for g in range(1, 13)] == [Stage.PRIMARY] * 6 + [Stage.JUNIOR] * 3 + [
        Stage.SENIOR
    ] * 3


def test_a_new_county_and_the_stage_of_each_new_school(empty_app: App, tmp_path: Path, now: datetime) -> None:
    path = write_csv(
        tmp_path / "roster.csv",
        [
            _row("六年小学", 6, "A1"),
            _row("七年中学", 9, "B1"),
            _row("七年中学", 7, "B2"),  # the lowest grade decides, wherever it comes
            _row("九年中学", 9, "C1"),
            _row("十年高中", 10, "D1"),
            _row("十年高中", 12, "D2"),
        ],
    )
    with transaction(empty_app.session_factory) as session:
        counts, errors = import_file(session, path, "new-county", now, show_progress=False)
    assert errors == [] and counts is not None and counts.schools_created == 4
    with empty_app.session_factory() as s:
        regions = [(r.code, r.name, r.timezone, r.aid_pack, r.settings) for r in s.scalars(select(Region))]
        schools = sorted((school.name, school.stage) for school in s.scalars(select(School)))
    assert regions == [("new-county", "new-county", "Asia/Shanghai", None, {})]
    assert schools == [
        ("七年中学", Stage.JUNIOR),
        ("九年中学", Stage.JUNIOR),
        ("六年小学", Stage.PRIMARY),
        ("十年高中", Stage.SENIOR),
    ]
