"""The demo county that `bot.py demo` and a new user's first console seed, pinned exactly: the region,
its two schools and seven classes, the fixed staff with their phones and roles, every pupil's number,
name, gender, boarding and household, one guardian per pupil (the demo parent for the first pupil of
each school), and the school-year calendar handed to the calendar domain. The county is generated
from a fixed random seed, so the same rows come out every time; a change to the generator shows here.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from chatbot.app import App
from chatbot.demo import seed_demo
from chatbot.people.demo import DEMO_PARENT_NAME, demo_person
from db.models import Guardian, Membership, Person, Region, School, SchoolClass, Student
from db.models.calendar import CalendarEntry
from db.session import transaction


@pytest.fixture
def county(empty_app: App, now: datetime) -> App:
    """An empty database into which the demo county was just seeded at the test's clock."""
    with transaction(empty_app.session_factory) as session:
        assert seed_demo(session, now) is True
    return empty_app


def test_the_region_and_its_two_schools(county: App) -> None:
    with county.session_factory() as s:
        regions = [(r.code, r.name, r.timezone, r.aid_pack, r.settings) for r in s.scalars(select(Region))]
        schools = [(sc.region.code, sc.name, sc.stage.value, sc.timezone) for sc in s.scalars(select(School))]
    assert regions == [("linxia-demo", "临夏县(演示)", "Asia/Shanghai", "linxia-2019", {})]
    assert schools == [
        ("linxia-demo", "红星小学", "primary", None),
        ("linxia-demo", "东乡第一初级中学", "junior", None),
    ]


def test_the_staff_their_phones_classes_and_roles(county: App, now: datetime) -> None:
    with county.session_factory() as s:
        staff = [
            (p.name, p.phone, p.created_at, p.locale)
            for p in s.scalars(select(Person).where(Person.phone.like("139%")).order_by(Person.id))
        ]
        classes = [
            (c.school.name, c.grade, c.name, c.class_teacher.name if c.class_teacher else None)
            for c in s.scalars(select(SchoolClass).order_by(SchoolClass.id))
        ]
        scopes = {
            "region": {r.id: r.name for r in s.scalars(select(Region))},
            "school": {sc.id: sc.name for sc in s.scalars(select(School))},
            "class": {c.id: f"{c.school.name} {c.grade}{c.name}" for c in s.scalars(select(SchoolClass))},
        }
        memberships = [
            (m.person.name, m.role.value, m.scope_type.value, scopes[m.scope_type.value][m.scope_id])
            for m in s.scalars(select(Membership).order_by(Membership.id))
        ]
    assert staff == [
        ("马局长", "13900000004", now, None),
        ("王建国", "13900000001", now, None),
        ("张校长", "13900000010", now, None),
        ("李芳", "13900010000", now, None),
        ("吴洋鹏", "13900010001", now, None),
        ("赵秀", "13900010002", now, None),
        ("高然诺", "13900010003", now, None),
        ("赵霞思校长", "13900000011", now, None),
        ("潘雨远", "13900011000", now, None),
        ("蔡强杰", "13900011001", now, None),
        ("刘兰鹏", "13900011002", now, None),
    ]
    assert classes == [
        ("红星小学", 3, "1班", "李芳"),
        ("红星小学", 4, "1班", "吴洋鹏"),
        ("红星小学", 5, "1班", "赵秀"),
        ("红星小学", 6, "1班", "高然诺"),
        ("东乡第一初级中学", 7, "1班", "潘雨远"),
        ("东乡第一初级中学", 8, "2班", "蔡强杰"),
        ("东乡第一初级中学", 9, "1班", "刘兰鹏"),
    ]
    assert memberships == [
        ("马局长", "county_admin", "region", "临夏县(演示)"),
        ("张校长", "principal", "school", "红星小学"),
        ("李芳", "class_teacher", "class", "红星小学 31班"),
        ("吴洋鹏", "class_teacher", "class", "红星小学 41班"),
        ("赵秀", "class_teacher", "class", "红星小学 51班"),
        ("高然诺", "class_teacher", "class", "红星小学 61班"),
        ("赵霞思校长", "principal", "school", "东乡第一初级中学"),
        ("潘雨远", "class_teacher", "class", "东乡第一初级中学 71班"),
        ("蔡强杰", "class_teacher", "class", "东乡第一初级中学 82班"),
        ("刘兰鹏", "class_teacher", "class", "东乡第一初级中学 91班"),
    ]


# Per class: pupils, first and last 学号, genders, boarders, and household situations. Juniors board
# about 60% of the time, primary pupils from grade 5 about 30%, younger ones never.
CLASSES = [
    ("红星小学", 3, "1班", 38, "030101", "030138", {"男": 21, "女": 17}, 0,
     {(): 29, ("registered_poor",): 5, ("dibao",): 3, ("orphan",): 1}),
    ("红星小学", 4, "1班", 42, "040201", "040242", {"男": 28, "女": 14}, 0,
     {(): 35, ("registered_poor",): 5, ("dibao",): 2}),
    ("红星小学", 5, "1班", 27, "050301", "050327", {"男": 12, "女": 15}, 11,
     {(): 19, ("registered_poor",): 6, ("dibao",): 2}),
    ("红星小学", 6, "1班", 35, "060401", "060435", {"男": 14, "女": 21}, 11,
     {(): 27, ("registered_poor",): 5, ("dibao",): 3}),
    ("东乡第一初级中学", 7, "1班", 45, "070101", "070145", {"男": 22, "女": 23}, 27,
     {(): 30, ("registered_poor",): 14, ("dibao",): 1}),
    ("东乡第一初级中学", 8, "2班", 40, "080201", "080240", {"男": 20, "女": 20}, 22,
     {(): 26, ("registered_poor",): 10, ("dibao",): 3, ("orphan",): 1}),
    ("东乡第一初级中学", 9, "1班", 31, "090301", "090331", {"男": 15, "女": 16}, 20,
     {(): 24, ("registered_poor",): 6, ("orphan",): 1}),
]  # fmt: skip


def _pupils(s: Session) -> list[Student]:
    return list(s.scalars(select(Student).order_by(Student.id)))


def test_every_class_has_its_pupils_numbers_genders_boarders_and_households(county: App) -> None:
    with county.session_factory() as s:
        found = []
        for klass in s.scalars(select(SchoolClass).order_by(SchoolClass.id)):
            pupils = [p for p in _pupils(s) if p.class_id == klass.id]
            assert all(p.school_id == klass.school_id and p.active is True for p in pupils)
            numbers = [p.student_no for p in pupils]
            # 学号 = grade, position of the class in its school, number in class: all two digits.
            assert numbers == [numbers[0][:4] + f"{n:02d}" for n in range(1, len(pupils) + 1)]
            found.append(
                (
                    klass.school.name,
                    klass.grade,
                    klass.name,
                    len(pupils),
                    numbers[0],
                    numbers[-1],
                    dict(Counter(p.gender for p in pupils)),
                    sum(1 for p in pupils if p.boarding is True),
                    dict(Counter(tuple(p.household) for p in pupils)),
                )
            )
            assert all(p.boarding in (True, False) for p in pupils)
    assert found == CLASSES


def test_the_first_pupils_and_the_names_of_all(county: App) -> None:
    with county.session_factory() as s:
        pupils = _pupils(s)
        firsts = [
            (p.student_no, p.name, p.gender, p.boarding, p.household)
            for p in pupils
            if p.student_no.endswith(("01", "02")) and len(p.student_no) == 6
        ]
        name_lengths = Counter(len(p.name) for p in pupils)
    assert firsts == [
        ("030101", "潘佳涵", "男", False, []),
        ("030102", "刘磊", "女", False, []),
        ("040201", "任强磊", "女", False, []),
        ("040202", "许英强", "女", False, []),
        ("050301", "王娟欣", "男", False, ["registered_poor"]),
        ("050302", "卢磊", "男", False, []),
        ("060401", "蔡雨", "女", False, ["registered_poor"]),
        ("060402", "冯子", "女", True, []),
        ("070101", "郭轩", "女", False, []),
        ("070102", "沈浩", "男", False, ["registered_poor"]),
        ("080201", "叶磊梅", "女", True, []),
        ("080202", "郭佳", "男", False, []),
        ("090301", "宋豪", "女", True, ["registered_poor"]),
        ("090302", "王浩", "男", False, []),
    ]
    # A surname and one or two given-name characters, never the same character twice.
    assert name_lengths == {2: 133, 3: 125}


def test_one_guardian_per_pupil_the_demo_parent_for_the_first_pupil_of_each_school(
    county: App, now: datetime
) -> None:
    with county.session_factory() as s:
        parent = s.scalars(select(Person).where(Person.name == DEMO_PARENT_NAME)).one()
        links = list(s.scalars(select(Guardian)))
        by_pupil = Counter(g.student_id for g in links)
        parent_wards = sorted(
            (g.student.school_class.school.name, g.student.student_no, g.student.name, g.relation)
            for g in links
            if g.person_id == parent.id
        )
        others = [g for g in links if g.person_id != parent.id]
        families = [
            (g.person.name, g.person.phone, g.person.created_at, g.relation, g.student.name)
            for g in sorted(others, key=lambda g: g.person_id)
        ]
        pupils = len(_pupils(s))
        people = len(list(s.scalars(select(Person.id))))
    assert pupils == 258 and people == 267  # 258 pupils; 11 staff and the demo parent; 256 other guardians
    assert set(by_pupil.values()) == {1} and len(by_pupil) == pupils
    assert parent_wards == [
        ("东乡第一初级中学", "070101", "郭轩", "父亲"),
        ("红星小学", "030101", "潘佳涵", "父亲"),
    ]
    # Every other pupil has a guardian of their own, phoned from 13700000001 upwards in creation order.
    assert [phone for _n, phone, *_rest in families] == [str(13700000001 + i) for i in range(256)]
    assert {created for _n, _p, created, *_rest in families} == {now}
    # The guardian shares the child's surname and has a three-character name ending in 华, 强, 梅 or 英.
    assert all(name[0] == child[0] and len(name) == 3 for name, *_mid, child in families)
    assert Counter(name[-1] for name, *_rest in families) == {"强": 79, "梅": 69, "英": 57, "华": 51}
    assert Counter(relation for _n, _p, _c, relation, _s in families) == {
        "父亲": 73,
        "母亲": 74,
        "爷爷": 62,
        "奶奶": 47,
    }
    assert families[:3] == [
        ("刘宇英", "13700000001", now, "母亲", "刘磊"),
        ("杜秀梅", "13700000002", now, "母亲", "杜然涛"),
        ("许梓强", "13700000003", now, "爷爷", "许梓思"),
    ]


def _fingerprint(s: Session) -> str:
    """Every pupil with their guardians, as text, hashed: the whole random part of the county."""
    lines = []
    for p in _pupils(s):
        guardians = sorted(f"{g.person.name}/{g.person.phone}/{g.relation}" for g in p.guardians)
        lines.append(
            f"{p.student_no} {p.name} {p.gender} {p.boarding} {','.join(p.household)} {';'.join(guardians)}"
        )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def test_the_whole_county_is_the_same_every_time(county: App) -> None:
    """The seed is fixed: any change to what is drawn, or in which order, changes this fingerprint."""
    with county.session_factory() as s:
        assert _fingerprint(s) == "dc71a0bb8aed058dc866568b4bbcfb32e1cef4699426dbde4db368efefc6bea0"


def test_seeding_again_changes_nothing(county: App, now: datetime) -> None:
    with county.session_factory() as s:
        before = _fingerprint(s)
    with transaction(county.session_factory) as session:
        assert seed_demo(session, now) is False
    with county.session_factory() as s:
        assert _fingerprint(s) == before
        assert len(list(s.scalars(select(Region.id)))) == 1
        assert len(list(s.scalars(select(Person.id)))) == 267


def test_the_region_gets_this_school_years_calendar(county: App, now: datetime) -> None:
    with county.session_factory() as s:
        regions = {r.id: r.code for r in s.scalars(select(Region))}
        entries = [
            (regions[e.region_id], e.school_id, e.kind.value, e.name, e.first_day, e.last_day, e.created_at)
            for e in s.scalars(select(CalendarEntry).order_by(CalendarEntry.first_day))
        ]
    assert entries == [
        ("linxia-demo", None, "term", "autumn", date(2026, 9, 1), date(2027, 1, 15), now),
        ("linxia-demo", None, "vacation", "winter", date(2027, 1, 16), date(2027, 2, 21), now),
        ("linxia-demo", None, "term", "spring", date(2027, 2, 22), date(2027, 7, 9), now),
        ("linxia-demo", None, "vacation", "summer", date(2027, 7, 10), date(2027, 8, 31), now),
    ]


def test_demo_person_is_the_earliest_person_of_that_name(county: App, now: datetime) -> None:
    """A roster may add a namesake of a demo person later; the demo role still finds the first one."""
    with transaction(county.session_factory) as s:
        s.add(Person(name=DEMO_PARENT_NAME, phone="13800000009", created_at=now))
    with county.session_factory() as s:
        ids = list(s.scalars(select(Person.id).where(Person.name == DEMO_PARENT_NAME).order_by(Person.id)))
        found = demo_person(s, "parent")
        assert found is not None and found.id == ids[0] and found.phone == "13900000001"
        assert len(ids) == 2
        assert [demo_person(s, role).phone for role in ("teacher", "principal", "admin")] == [  # type: ignore[union-attr]
            "13900010000",
            "13900000010",
            "13900000004",
        ]
        assert demo_person(s, "guest") is None
