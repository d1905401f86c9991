"""Roster import, then a second file that changes things, then the same file again, each compared with
the whole database afterwards: schools, classes and their class teacher, pupils, people found by phone
(renamed, never duplicated), the file's guardians becoming each pupil's whole list, class-teacher
memberships replaced, the exact counts, the audit rows and the operator's summary."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chatbot.app import App
from chatbot.i18n import use_locale
from chatbot.people.roster import ImportCounts, import_file, load_roster, summary, write_roster
from db.models import (
    AuditLog,
    Guardian,
    Membership,
    Person,
    Region,
    Role,
    School,
    SchoolClass,
    ScopeType,
    Stage,
    Student,
)
from db.session import transaction
from tests.people.rostergen import write_csv

FIRST = [
    ["红星小学", "3", "1", "S1", "王小明", "男", "是", "低保", "王建国", "13800000001", "父亲", "李芳", "13900000001"],
    ["红星小学", "3", "1", "S2", "王小红", "女", "否", "", "王建国", "13800000001", "父亲", "李芳", "13900000001"],
    ["红星小学", "4", "1", "S3", "马丽", "", "否", "", "马大山", "13800000002", "", "", ""],
    ["青山中学", "7", "2", "S1", "赵强", "男", "否", "孤儿", "赵父", "13800000003", "父亲", "张老师", "13900000002"],
    ["青山中学", "7", "2", "S1", "赵强", "男", "否", "孤儿", "赵母", "13800000004", "母亲", "张老师", "13900000002"],
]  # fmt: skip
SECOND = [
    # S1 moves to a new class and loses its flag; its guardian is renamed and now called 爸爸.
    ["红星小学", "3", "2", "S1", "王小明", "男", "是", "", "王建华", "13800000001", "爸爸", "", ""],
    # S2 gets another guardian (a person already known by phone) and its class a new class teacher.
    ["红星小学", "3", "1", "S2", "王小红", "女", "否", "", "刘芳", "13800000005", "", "周老师", "13900000003"],
    # 赵母 is no longer listed: the file's guardians are the whole list.
    ["青山中学", "7", "2", "S1", "赵强", "男", "否", "孤儿", "赵父", "13800000003", "父亲", "张老师", "13900000002"],
    ["白云小学", "1", "1", "S9", "孙悟", "男", "否", "", "", "", "", "", ""],
]  # fmt: skip


def snapshot(s: Session) -> dict[str, list[tuple[Any, ...]]]:
    people = {p.id: (p.name, p.phone) for p in s.scalars(select(Person))}
    schools = {sc.id: sc.name for sc in s.scalars(select(School))}
    classes = {c.id: (schools[c.school_id], c.grade, c.name) for c in s.scalars(select(SchoolClass))}
    students = {st.id: (schools[st.school_id], st.student_no) for st in s.scalars(select(Student))}
    return {
        "schools": sorted(
            (sc.name, sc.stage, s.get(Region, sc.region_id).code)  # type: ignore[union-attr]
            for sc in s.scalars(select(School))
        ),
        "classes": sorted(
            (*classes[c.id], people[c.class_teacher_id] if c.class_teacher_id else None)
            for c in s.scalars(select(SchoolClass))
        ),
        "students": sorted(
            (*students[st.id], classes[st.class_id], st.name, st.gender, st.boarding, st.household, st.active)
            for st in s.scalars(select(Student))
        ),
        "people": sorted((p.name, p.phone, p.created_at) for p in s.scalars(select(Person))),
        "guardians": sorted(
            (students[g.student_id], people[g.person_id], g.relation) for g in s.scalars(select(Guardian))
        ),
        "memberships": sorted(
            (people[m.person_id], m.role, m.scope_type, classes.get(m.scope_id))
            for m in s.scalars(select(Membership))
        ),
    }


def audits(app: App) -> list[tuple[Any, ...]]:
    with app.session_factory() as s:
        return [
            (a.at, a.actor_person_id, a.action, a.target, a.details)
            for a in s.scalars(select(AuditLog).order_by(AuditLog.id))
        ]


def test_import_change_and_reimport(empty_app: App, tmp_path: Path, now: datetime) -> None:
    with transaction(empty_app.session_factory) as s:
        region = Region(code="north", name="北县", timezone="Asia/Shanghai")
        s.add(region)
        s.flush()
        region_id = region.id

    # The first file, written through write_roster with a progress callback.
    parsed = load_roster(write_csv(tmp_path / "first.csv", FIRST), show_progress=False)
    assert parsed.errors == []
    ticks: list[int] = []
    with transaction(empty_app.session_factory) as s:
        region_obj = s.get(Region, region_id)
        assert region_obj is not None
        first = write_roster(s, region_obj, parsed.rows, now, progress=ticks.append)
    assert ticks == [1, 1, 1]
    assert first == ImportCounts(
        schools_created=2, classes_created=3, students_created=4, people_created=6,
        guardian_links_added=5, teacher_changes=2, rows=5,
    )  # fmt: skip
    with use_locale("en"):
        assert summary(first) == (
            "5 rows: 4 pupils added, 0 updated, 0 unchanged; 2 schools and 3 classes added; 6 people added, "
            "0 updated; 5 guardian links added, 0 removed; 2 class-teacher changes."
        )
    with empty_app.session_factory() as s:
        assert snapshot(s) == {
            "schools": [("红星小学", Stage.PRIMARY, "north"), ("青山中学", Stage.JUNIOR, "north")],
            "classes": [
                ("红星小学", 3, "1班", ("李芳", "13900000001")),
                ("红星小学", 4, "1班", None),
                ("青山中学", 7, "2班", ("张老师", "13900000002")),
            ],
            "students": [
                ("红星小学", "S1", ("红星小学", 3, "1班"), "王小明", "男", True, ["dibao"], True),
                ("红星小学", "S2", ("红星小学", 3, "1班"), "王小红", "女", False, [], True),
                ("红星小学", "S3", ("红星小学", 4, "1班"), "马丽", None, False, [], True),
                ("青山中学", "S1", ("青山中学", 7, "2班"), "赵强", "男", False, ["orphan"], True),
            ],
            "people": [
                ("张老师", "13900000002", now),
                ("李芳", "13900000001", now),
                ("王建国", "13800000001", now),
                ("赵母", "13800000004", now),
                ("赵父", "13800000003", now),
                ("马大山", "13800000002", now),
            ],
            "guardians": [
                (("红星小学", "S1"), ("王建国", "13800000001"), "父亲"),
                (("红星小学", "S2"), ("王建国", "13800000001"), "父亲"),
                (("红星小学", "S3"), ("马大山", "13800000002"), None),
                (("青山中学", "S1"), ("赵母", "13800000004"), "母亲"),
                (("青山中学", "S1"), ("赵父", "13800000003"), "父亲"),
            ],
            "memberships": [
                (("张老师", "13900000002"), Role.CLASS_TEACHER, ScopeType.CLASS, ("青山中学", 7, "2班")),
                (("李芳", "13900000001"), Role.CLASS_TEACHER, ScopeType.CLASS, ("红星小学", 3, "1班")),
            ],
        }

    # Between the files: 刘芳's phone is already known (as 老刘, with a later duplicate), and 赵父 also
    # holds a stray class-teacher membership of 7年级2班 besides a subject-teacher one.
    later = now + timedelta(days=1)
    with transaction(empty_app.session_factory) as s:
        s.add_all([Person(name="老刘", phone="13800000005", created_at=now)])
        s.flush()
        s.add_all([Person(name="老刘二", phone="13800000005", created_at=now)])
        zhao = s.scalars(select(Person).where(Person.phone == "13800000003")).one()
        qingshan = s.scalars(select(SchoolClass).where(SchoolClass.grade == 7)).one()
        s.add_all(
            [
                Membership(person_id=zhao.id, role=Role.CLASS_TEACHER, scope_type=ScopeType.CLASS,
                           scope_id=qingshan.id),
                Membership(person_id=zhao.id, role=Role.TEACHER, scope_type=ScopeType.CLASS, scope_id=qingshan.id),
            ]
        )  # fmt: skip

    second_file = write_csv(tmp_path / "second.csv", SECOND)
    with transaction(empty_app.session_factory) as s:
        second, errors = import_file(s, second_file, None, later, show_progress=False)
    assert errors == []
    assert second == ImportCounts(
        schools_created=1, classes_created=2, students_created=1, students_updated=1, students_unchanged=2,
        people_created=1, people_updated=3, guardian_links_added=1, guardian_links_removed=2,
        teacher_changes=2, rows=4,
    )  # fmt: skip
    with empty_app.session_factory() as s:
        after = snapshot(s)
    assert after == {
        "schools": [
            ("白云小学", Stage.PRIMARY, "north"),
            ("红星小学", Stage.PRIMARY, "north"),
            ("青山中学", Stage.JUNIOR, "north"),
        ],
        "classes": [
            ("白云小学", 1, "1班", None),
            ("红星小学", 3, "1班", ("周老师", "13900000003")),
            ("红星小学", 3, "2班", None),
            ("红星小学", 4, "1班", None),
            ("青山中学", 7, "2班", ("张老师", "13900000002")),
        ],
        "students": [
            ("白云小学", "S9", ("白云小学", 1, "1班"), "孙悟", "男", False, [], True),
            ("红星小学", "S1", ("红星小学", 3, "2班"), "王小明", "男", True, [], True),
            ("红星小学", "S2", ("红星小学", 3, "1班"), "王小红", "女", False, [], True),
            ("红星小学", "S3", ("红星小学", 4, "1班"), "马丽", None, False, [], True),
            ("青山中学", "S1", ("青山中学", 7, "2班"), "赵强", "男", False, ["orphan"], True),
        ],
        "people": [
            ("刘芳", "13800000005", now),
            ("周老师", "13900000003", later),
            ("张老师", "13900000002", now),
            ("李芳", "13900000001", now),
            ("王建华", "13800000001", now),
            ("老刘二", "13800000005", now),
            ("赵母", "13800000004", now),
            ("赵父", "13800000003", now),
            ("马大山", "13800000002", now),
        ],
        "guardians": [
            (("红星小学", "S1"), ("王建华", "13800000001"), "爸爸"),
            (("红星小学", "S2"), ("刘芳", "13800000005"), None),
            (("红星小学", "S3"), ("马大山", "13800000002"), None),
            (("青山中学", "S1"), ("赵父", "13800000003"), "父亲"),
        ],
        "memberships": [
            (("周老师", "13900000003"), Role.CLASS_TEACHER, ScopeType.CLASS, ("红星小学", 3, "1班")),
            (("张老师", "13900000002"), Role.CLASS_TEACHER, ScopeType.CLASS, ("青山中学", 7, "2班")),
            (("赵父", "13800000003"), Role.TEACHER, ScopeType.CLASS, ("青山中学", 7, "2班")),
        ],
    }

    # The same file again changes nothing.
    again = load_roster(second_file, show_progress=False)
    assert again.errors == []
    ticks.clear()
    with transaction(empty_app.session_factory) as s:
        region_obj = s.get(Region, region_id)
        assert region_obj is not None
        third = write_roster(s, region_obj, again.rows, later, progress=ticks.append)
    assert ticks == [1, 1, 1]  # a quarter of 4 rows, three times
    assert third == ImportCounts(students_unchanged=4, rows=4)
    assert not third.changed
    with empty_app.session_factory() as s:
        assert snapshot(s) == after
    assert audits(empty_app) == [
        (now, None, "roster.import", f"region:{region_id}", first.as_dict()),
        (later, None, "roster.import", f"region:{region_id}", second.as_dict()),
        (later, None, "roster.import", f"region:{region_id}", third.as_dict()),
    ]
    assert audits(empty_app)[2][4] == {
        "schools_created": 0, "classes_created": 0, "students_created": 0, "students_updated": 0,
        "students_unchanged": 4, "people_created": 0, "people_updated": 0, "guardian_links_added": 0,
        "guardian_links_removed": 0, "teacher_changes": 0, "rows": 4,
    }  # fmt: skip
