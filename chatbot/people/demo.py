"""A realistic demo county, seeded idempotently: two schools, seven classes, families, staff."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

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


SCHOOLS = (
    (
        "红星小学",
        Stage.PRIMARY,
        (ClassPlan(3, "1班", 38), ClassPlan(4, "1班", 42), ClassPlan(5, "1班", 27), ClassPlan(6, "1班", 35)),
    ),
    (
        "东乡第一初级中学",
        Stage.JUNIOR,
        (ClassPlan(7, "1班", 45), ClassPlan(8, "2班", 40), ClassPlan(9, "1班", 31)),
    ),
)


def _name(rng: random.Random, surname: str | None = None) -> str:
    return (surname or rng.choice(SURNAMES)) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))


def seed_county(session: Session, now: datetime) -> Region | None:
    """Create the demo county's people, schools and classes unless it exists; the new region, or None."""
    if session.scalars(select(Region).where(Region.code == DEMO_REGION_CODE)).first() is not None:
        return None
    rng = random.Random(20261122)
    region = Region(
        code=DEMO_REGION_CODE,
        name="临夏县(演示)",
        timezone="Asia/Shanghai",
        aid_pack="linxia-2019",
        settings={},
    )
    session.add(region)
    session.flush()
    admin = Person(name=DEMO_ADMIN_NAME, phone="13900000004", created_at=now)
    session.add(admin)
    session.flush()
    session.add(
        Membership(
            person_id=admin.id, role=Role.COUNTY_ADMIN, scope_type=ScopeType.REGION, scope_id=region.id
        )
    )

    demo_parent = Person(name=DEMO_PARENT_NAME, phone="13900000001", created_at=now)
    session.add(demo_parent)
    phone_seq = 13700000000
    first_classes: list[SchoolClass] = []
    for school_index, (school_name, stage, plans) in enumerate(SCHOOLS):
        school = School(region_id=region.id, name=school_name, stage=stage)
        session.add(school)
        session.flush()
        principal = Person(
            name=DEMO_PRINCIPAL_NAME if school_index == 0 else _name(rng) + "校长",
            phone=f"1390000001{school_index}",
            created_at=now,
        )
        session.add(principal)
        session.flush()
        session.add(
            Membership(
                person_id=principal.id, role=Role.PRINCIPAL, scope_type=ScopeType.SCHOOL, scope_id=school.id
            )
        )
        for class_index, plan in enumerate(plans):
            teacher_name = DEMO_TEACHER_NAME if (school_index, class_index) == (0, 0) else _name(rng)
            teacher = Person(
                name=teacher_name, phone=f"1390001{school_index}{class_index:03d}", created_at=now
            )
            session.add(teacher)
            session.flush()
            klass = SchoolClass(
                school_id=school.id, grade=plan.grade, name=plan.name, class_teacher_id=teacher.id
            )
            session.add(klass)
            session.flush()
            if class_index == 0:
                first_classes.append(klass)
            session.add(
                Membership(
                    person_id=teacher.id,
                    role=Role.CLASS_TEACHER,
                    scope_type=ScopeType.CLASS,
                    scope_id=klass.id,
                )
            )
            for number in range(1, plan.size + 1):
                surname = rng.choice(SURNAMES)
                household: list[str] = []
                roll = rng.random()
                if roll < 0.22:
                    household.append("registered_poor")
                elif roll < 0.30:
                    household.append("dibao")
                elif roll < 0.32:
                    household.append("orphan")
                boarding = (stage == Stage.JUNIOR and rng.random() < 0.6) or (
                    stage == Stage.PRIMARY and plan.grade >= 5 and rng.random() < 0.3
                )
                student = Student(
                    school_id=school.id,
                    class_id=klass.id,
                    student_no=f"{plan.grade:02d}{class_index + 1:02d}{number:02d}",
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
                    session.add(Guardian(person_id=demo_parent.id, student_id=student.id, relation="父亲"))
                    continue
                phone_seq += 1
                guardian = Person(
                    name=surname + rng.choice(GIVEN) + rng.choice(("华", "强", "梅", "英")),
                    phone=str(phone_seq),
                    created_at=now,
                )
                session.add(guardian)
                session.flush()
                session.add(
                    Guardian(
                        person_id=guardian.id,
                        student_id=student.id,
                        relation=rng.choice(("父亲", "母亲", "爷爷", "奶奶")),
                    )
                )
    session.flush()
    return region


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
