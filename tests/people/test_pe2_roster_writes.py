"""Roster writes that depend on what is already in the database: a school of the same name in another
county is not reused, a new pupil listed first does not stop the changed and unchanged pupils after it
being counted, and a class-teacher membership that is not of class scope (with a class's id as its
scope id) neither counts as the class's teacher nor is removed when the class gets a new one."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from chatbot.app import App
from chatbot.people.roster import ImportCounts, import_file
from db.models import Membership, Person, Region, Role, School, SchoolClass, ScopeType
from db.session import transaction
from tests.people.rostergen import write_csv


def pupil(no: str, name: str = "王小明", klass: str = "1", teacher: tuple[str, str] = ("", "")) -> list[str]:
    return ["红星小学", "3", klass, no, name, "男", "否", "", "", "", "", *teacher]


def run(app: App, path: Path, region: str, now: datetime) -> ImportCounts:
    with transaction(app.session_factory) as session:
        counts, errors = import_file(session, path, region, now, show_progress=False)
    assert errors == [] and counts is not None
    return counts


def test_a_school_of_the_same_name_in_another_county_is_a_new_school(
    empty_app: App, tmp_path: Path, now: datetime
) -> None:
    path = write_csv(tmp_path / "r.csv", [pupil("S1")])
    assert run(empty_app, path, "north", now) == ImportCounts(
        schools_created=1, classes_created=1, students_created=1, rows=1
    )
    assert run(empty_app, path, "south", now) == ImportCounts(
        schools_created=1, classes_created=1, students_created=1, rows=1
    )
    with empty_app.session_factory() as s:
        regions = {r.id: r.code for r in s.scalars(select(Region))}
        schools = sorted((regions[sc.region_id], sc.name) for sc in s.scalars(select(School)))
    assert schools == [("north", "红星小学"), ("south", "红星小学")]


def test_a_new_pupil_first_does_not_hide_the_pupils_after_it(
    empty_app: App, tmp_path: Path, now: datetime
) -> None:
    run(empty_app, write_csv(tmp_path / "a.csv", [pupil("S1"), pupil("S2")]), "north", now)
    counts = run(
        empty_app,
        write_csv(tmp_path / "b.csv", [pupil("S0"), pupil("S1", name="王大明"), pupil("S2")]),
        "north",
        now,
    )
    assert counts == ImportCounts(students_created=1, students_updated=1, students_unchanged=1, rows=3)


def test_a_class_teacher_membership_of_another_scope_is_left_alone(
    empty_app: App, tmp_path: Path, now: datetime
) -> None:
    li = ("李芳", "13900000001")
    path = write_csv(tmp_path / "a.csv", [pupil("S1", teacher=li)])
    run(empty_app, path, "north", now)
    with transaction(empty_app.session_factory) as s:
        klass = s.scalars(select(SchoolClass)).one()
        other = Person(name="赵校长", phone="13700000001", created_at=now)
        s.add(other)
        s.flush()
        # The same role, with the class's id as scope id, but over a school and a region.
        s.add_all(
            [
                Membership(person_id=other.id, role=Role.CLASS_TEACHER, scope_type=scope, scope_id=klass.id)
                for scope in (ScopeType.SCHOOL, ScopeType.REGION)
            ]
        )
    # The same file again: the class's teacher is still only 李芳.
    assert run(empty_app, path, "north", now) == ImportCounts(students_unchanged=1, rows=1)

    # A new class teacher replaces 李芳, and only 李芳.
    zhou = ("周老师", "13900000002")
    counts = run(empty_app, write_csv(tmp_path / "b.csv", [pupil("S1", teacher=zhou)]), "north", now)
    assert counts == ImportCounts(students_unchanged=1, people_created=1, teacher_changes=1, rows=1)
    with empty_app.session_factory() as s:
        people = {p.id: p.name for p in s.scalars(select(Person))}
        memberships = sorted(
            (people[m.person_id], m.role, m.scope_type) for m in s.scalars(select(Membership))
        )
    assert memberships == [
        ("周老师", Role.CLASS_TEACHER, ScopeType.CLASS),
        ("赵校长", Role.CLASS_TEACHER, ScopeType.REGION),
        ("赵校长", Role.CLASS_TEACHER, ScopeType.SCHOOL),
    ]
