"""A realistic demo county, seeded idempotently: two schools, seven classes, families, staff."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import (
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

DEMO_REGION_CODE = "linxia-demo"
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = "小明华丽强芳军静敏伟磊洋勇艳杰娟涛超秀霞平刚桂英玉兰萍红梅鹏飞宇浩然子轩雨欣梓涵一诺佳怡思远嘉豪"

# Fixed people, so `console --as parent` and the tests always find the same person.
DEMO_PARENT_NAME = "王建国"
DEMO_TEACHER_NAME = "李芳"
DEMO_PRINCIPAL_NAME = "张校长"
DEMO_ADMIN_NAME = "马局长"


@dataclass(frozen=True)
class ClassPlan:
    grade: int
    name: str
    size: int


class SchoolPlan(NamedTuple):
    name: str
    stage: Stage
    classes: tuple[ClassPlan, ...]


SCHOOLS = (
    SchoolPlan(
        "红星小学",
        Stage.PRIMARY,
        (ClassPlan(3, "1班", 38), ClassPlan(4, "1班", 42), ClassPlan(5, "1班", 27), ClassPlan(6, "1班", 35)),
    ),
    SchoolPlan(
        "东乡第一初级中学",
        Stage.JUNIOR,
        (ClassPlan(7, "1班", 45), ClassPlan(8, "2班", 40), ClassPlan(9, "1班", 31)),
    ),
)


@dataclass(frozen=True)
class Seeding:
    """What every step of one seeding shares; the order of `rng` draws fixes the county."""

    session: Session
    now: datetime
    rng: random.Random
    demo_parent: Person
    guardian_phones: Iterator[int]


def _name(rng: random.Random, surname: str | None = None) -> str:
    return (surname or rng.choice(SURNAMES)) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))


def seed_county(session: Session, now: datetime) -> Region | None:
    """Create the demo county's people, schools and classes unless it exists; the new region, or None."""
    if session.scalars(select(Region).where(Region.code == DEMO_REGION_CODE)).first() is not None:
        return None
    rng = random.Random(20261122)
    region = _add_region(session)
    admin = _add_person(session, DEMO_ADMIN_NAME, "13900000004", now)
    _grant(session, admin, Role.COUNTY_ADMIN, ScopeType.REGION, region.id)
    # Not flushed here: it is inserted with the first school's flush, the insert order the tests pin.
    demo_parent = Person(name=DEMO_PARENT_NAME, phone="13900000001", created_at=now)
    session.add(demo_parent)
    seeding = Seeding(session, now, rng, demo_parent, itertools.count(13700000001))
    for school_index, plan in enumerate(SCHOOLS):
        _seed_school(seeding, region, school_index, plan)
    session.flush()
    return region


def _add_region(session: Session) -> Region:
    """The demo county's region row, flushed for its id."""
    region = Region(
        code=DEMO_REGION_CODE,
        name="临夏县(演示)",
        timezone="Asia/Shanghai",
        aid_pack="linxia-2019",
        settings={},
    )
    session.add(region)
    session.flush()
    return region


def _add_person(session: Session, name: str, phone: str, now: datetime) -> Person:
    """A new person, flushed for its id."""
    person = Person(name=name, phone=phone, created_at=now)
    session.add(person)
    session.flush()
    return person


def _grant(session: Session, person: Person, role: Role, scope_type: ScopeType, scope_id: int) -> None:
    """Give `person` a role over one scope."""
    session.add(Membership(person_id=person.id, role=role, scope_type=scope_type, scope_id=scope_id))


def _seed_school(seeding: Seeding, region: Region, school_index: int, plan: SchoolPlan) -> None:
    """One school with its principal and its classes."""
    session = seeding.session
    school = School(region_id=region.id, name=plan.name, stage=plan.stage)
    session.add(school)
    session.flush()
    principal = _add_person(
        session,
        DEMO_PRINCIPAL_NAME if school_index == 0 else _name(seeding.rng) + "校长",
        f"1390000001{school_index}",
        seeding.now,
    )
    _grant(session, principal, Role.PRINCIPAL, ScopeType.SCHOOL, school.id)
    for class_index, class_plan in enumerate(plan.classes):
        _seed_class(seeding, school, plan.stage, (school_index, class_index), class_plan)


def _seed_class(
    seeding: Seeding, school: School, stage: Stage, position: tuple[int, int], plan: ClassPlan
) -> None:
    """One class with its teacher and pupils; `position` is (school index, class index)."""
    session = seeding.session
    school_index, class_index = position
    teacher = _add_person(
        session,
        DEMO_TEACHER_NAME if position == (0, 0) else _name(seeding.rng),
        f"1390001{school_index}{class_index:03d}",
        seeding.now,
    )
    klass = SchoolClass(school_id=school.id, grade=plan.grade, name=plan.name, class_teacher_id=teacher.id)
    session.add(klass)
    session.flush()
    _grant(session, teacher, Role.CLASS_TEACHER, ScopeType.CLASS, klass.id)
    for number in range(1, plan.size + 1):
        _seed_pupil(seeding, school, klass, stage, class_index, number)


def _seed_pupil(
    seeding: Seeding, school: School, klass: SchoolClass, stage: Stage, class_index: int, number: int
) -> None:
    """One pupil and their guardian, drawn from `seeding.rng` in a fixed order."""
    session, rng = seeding.session, seeding.rng
    surname = rng.choice(SURNAMES)
    household = _household(rng)
    boarding = _boarding(rng, stage, klass.grade)
    student = Student(
        school_id=school.id,
        class_id=klass.id,
        student_no=f"{klass.grade:02d}{class_index + 1:02d}{number:02d}",
        name=_name(rng, surname),
        gender=rng.choice(("男", "女")),
        boarding=boarding,
        household=household,
        active=True,
    )
    session.add(student)
    session.flush()
    if number == 1 and class_index == 0:
        # The demo parent has one child in each school (first pupil of each first class).
        session.add(Guardian(person_id=seeding.demo_parent.id, student_id=student.id, relation="父亲"))
        return
    _add_guardian(seeding, student, surname)


def _household(rng: random.Random) -> list[str]:
    """The pupil's household markers, from one draw."""
    roll = rng.random()
    if roll < 0.22:
        return ["registered_poor"]
    if roll < 0.30:
        return ["dibao"]
    if roll < 0.32:
        return ["orphan"]
    return []


def _boarding(rng: random.Random, stage: Stage, grade: int) -> bool:
    """Whether the pupil boards; only junior pupils and primary grades 5 and up take a draw."""
    return (stage == Stage.JUNIOR and rng.random() < 0.6) or (
        stage == Stage.PRIMARY and grade >= 5 and rng.random() < 0.3
    )


def _add_guardian(seeding: Seeding, student: Student, surname: str) -> None:
    """A guardian sharing the pupil's surname, with the next guardian phone number."""
    rng = seeding.rng
    guardian = _add_person(
        seeding.session,
        surname + rng.choice(GIVEN) + rng.choice(("华", "强", "梅", "英")),
        str(next(seeding.guardian_phones)),
        seeding.now,
    )
    seeding.session.add(
        Guardian(
            person_id=guardian.id,
            student_id=student.id,
            relation=rng.choice(("父亲", "母亲", "爷爷", "奶奶")),
        )
    )


ROLE_NAMES = {
    "parent": DEMO_PARENT_NAME,
    "teacher": DEMO_TEACHER_NAME,
    "principal": DEMO_PRINCIPAL_NAME,
    "admin": DEMO_ADMIN_NAME,
}


def demo_person(session: Session, role: str) -> Person | None:
    """The fixed demo person for a role name (parent, teacher, principal, admin)."""
    name = ROLE_NAMES.get(role)
    if name is None:
        return None
    return session.scalars(select(Person).where(Person.name == name).order_by(Person.id)).first()
