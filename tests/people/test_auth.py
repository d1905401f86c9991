"""Authorization is deny-by-default: a generated matrix of every act × role × (own, someone else's) target."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from chatbot.app import App
from chatbot.people.auth import (
    Act,
    Target,
    can,
    children_of,
    classes_in_scope,
    has_role,
    is_guardian_of,
    roles_of,
    scopes_with,
)
from chatbot.people.demo import demo_person
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
from tests.conftest import MONDAY_8AM, DatabaseFactory, make_settings

# The specification, written out by hand: what each role may do inside its own scope.
MAY: dict[str, frozenset[Act]] = {
    "guardian": frozenset({Act.LEAVE_REQUEST, Act.VIEW_STUDENT}),
    "class_teacher": frozenset(
        {
            Act.ROLLCALL,
            Act.LEAVE_DECIDE,
            Act.CASE_ACT,
            Act.CASE_VIEW,
            Act.BROADCAST,
            Act.VIEW_STUDENT,
            Act.CONTACT_GUARDIAN,
            Act.ENROLMENT_EDIT,
        }
    ),
    "teacher": frozenset({Act.ROLLCALL, Act.VIEW_STUDENT}),
    "principal": frozenset(
        {
            Act.LEAVE_DECIDE,  # when the class teacher cannot be reached by chat
            Act.ENROLMENT_EDIT,
            Act.CASE_ACT,
            Act.CASE_VIEW,
            Act.BROADCAST,
            Act.REPORT,
            Act.VIEW_STUDENT,
            Act.CONTACT_GUARDIAN,
            Act.CALENDAR_EDIT,
        }
    ),
}
MAY["admin"] = MAY["principal"] - {Act.LEAVE_DECIDE, Act.ENROLMENT_EDIT}
SPEC_ACTS = sorted(set(Act) & set().union(*MAY.values()) | {Act.LEAVE_REQUEST})


@dataclass
class World:
    people: dict[str, int]
    # For each role: a pupil inside its scope and one just outside it.
    own_student: dict[str, int]
    other_student: dict[str, int]
    own_class: dict[str, int]
    other_class: dict[str, int]
    own_school: int
    other_school: int
    own_region: int
    other_region: int


@pytest.fixture(scope="module")
def shared_app(databases: DatabaseFactory) -> Iterator[App]:
    """One demo database for the whole matrix: these tests only read, and copies are slow on PostgreSQL."""
    url = databases.fresh(seeded=True)
    app = App(make_settings(url), clock=lambda: MONDAY_8AM)
    yield app
    app.engine.dispose()
    databases.drop(url)


@pytest.fixture(scope="module")
def world(shared_app: App) -> Iterator[tuple[Session, World]]:
    now = MONDAY_8AM
    with shared_app.session_factory() as s:
        parent = demo_person(s, "parent")
        teacher = demo_person(s, "teacher")
        principal = demo_person(s, "principal")
        admin = demo_person(s, "admin")
        assert parent and teacher and principal and admin
        own_class_id = teacher.memberships[0].scope_id
        own_class = s.get(SchoolClass, own_class_id)
        assert own_class is not None
        school = own_class.school
        other_class = s.scalars(
            select(SchoolClass).where(SchoolClass.school_id == school.id, SchoolClass.id != own_class_id)
        ).first()
        other_school = s.scalars(select(School).where(School.id != school.id)).first()
        assert other_class and other_school
        # A neighbouring county with one school, one class, one pupil.
        region = Region(code="elsewhere", name="别县", timezone="Asia/Shanghai", settings={})
        s.add(region)
        s.flush()
        far_school = School(region_id=region.id, name="远方小学", stage=Stage.PRIMARY)
        s.add(far_school)
        s.flush()
        far_class = SchoolClass(school_id=far_school.id, grade=3, name="1班")
        s.add(far_class)
        s.flush()
        far_pupil = Student(
            school_id=far_school.id, class_id=far_class.id, student_no="X1", name="远方", household=[]
        )
        subject_teacher = Person(name="科任", created_at=now)
        s.add_all([far_pupil, subject_teacher])
        s.flush()
        s.add(
            Membership(
                person_id=subject_teacher.id,
                role=Role.TEACHER,
                scope_type=ScopeType.CLASS,
                scope_id=own_class_id,
            )
        )
        s.commit()
        own_child = children_of(s, parent)[0]
        stranger_child = s.scalars(
            select(Student).where(Student.class_id == own_child.class_id, Student.id != own_child.id)
        ).first()
        pupil_in_class = s.scalars(select(Student).where(Student.class_id == own_class_id)).first()
        pupil_next_class = s.scalars(select(Student).where(Student.class_id == other_class.id)).first()
        pupil_other_school = s.scalars(select(Student).where(Student.school_id == other_school.id)).first()
        assert stranger_child and pupil_in_class and pupil_next_class and pupil_other_school
        s.expire_all()
        yield (
            s,
            World(
                people={
                    "guardian": parent.id,
                    "class_teacher": teacher.id,
                    "teacher": subject_teacher.id,
                    "principal": principal.id,
                    "admin": admin.id,
                },
                own_student={
                    "guardian": own_child.id,
                    "class_teacher": pupil_in_class.id,
                    "teacher": pupil_in_class.id,
                    "principal": pupil_next_class.id,
                    "admin": pupil_other_school.id,
                },
                other_student={
                    "guardian": stranger_child.id,
                    "class_teacher": pupil_next_class.id,
                    "teacher": pupil_next_class.id,
                    "principal": pupil_other_school.id,
                    "admin": far_pupil.id,
                },
                own_class={
                    "class_teacher": own_class_id,
                    "teacher": own_class_id,
                    "principal": other_class.id,
                    "admin": other_class.id,
                },
                other_class={
                    "class_teacher": other_class.id,
                    "teacher": other_class.id,
                    "principal": s.scalars(
                        select(SchoolClass.id).where(SchoolClass.school_id == other_school.id)
                    ).first()
                    or 0,
                    "admin": far_class.id,
                },
                own_school=school.id,
                other_school=other_school.id,
                own_region=school.region_id,
                other_region=region.id,
            ),
        )
        s.rollback()


ROLES = sorted(MAY)
CASES = [(role, act) for role in ROLES for act in SPEC_ACTS]


@pytest.mark.parametrize(("role", "act"), CASES)
def test_own_pupil_allowed_exactly_as_specified(role: str, act: Act, world: tuple[Session, World]) -> None:
    session, w = world
    person = session.get(Person, w.people[role])
    assert can(session, person, act, Target.student(w.own_student[role])) is (act in MAY[role])


@pytest.mark.parametrize(("role", "act"), [(role, act) for role in ROLES for act in Act])
def test_anything_outside_the_scope_is_denied(role: str, act: Act, world: tuple[Session, World]) -> None:
    """Parent on another family's child, teacher on another class, principal on another school, admin elsewhere."""
    session, w = world
    person = session.get(Person, w.people[role])
    assert not can(session, person, act, Target.student(w.other_student[role]))
    if role != "guardian":
        assert not can(session, person, act, Target.klass(w.other_class[role]))


@pytest.mark.parametrize("act", list(Act))
def test_unbound_users_and_unknown_targets_are_denied(act: Act, world: tuple[Session, World]) -> None:
    session, w = world
    admin = session.get(Person, w.people["admin"])
    assert not can(session, None, act, Target.student(w.own_student["guardian"]))
    assert not can(session, admin, act, Target.student(10**9))
    assert not can(session, admin, act, Target.klass(10**9))
    assert not can(session, admin, act, Target.school(10**9))
    assert not can(session, admin, act, Target("planet", w.own_region))
    assert not can(session, admin, act, Target.region(w.other_region))
    assert not can(session, admin, act, Target.region(0))


@pytest.mark.parametrize(
    ("role", "kind", "allowed"),
    [
        ("principal", "own_school", True),
        ("principal", "other_school", False),
        ("admin", "own_school", True),
        ("admin", "other_school", True),  # both demo schools are in the admin's county
        ("admin", "own_region", True),
        ("admin", "other_region", False),
        ("class_teacher", "own_school", False),
        ("guardian", "own_school", False),
    ],
)
def test_school_and_region_targets(role: str, kind: str, allowed: bool, world: tuple[Session, World]) -> None:
    session, w = world
    person = session.get(Person, w.people[role])
    target = Target.school(getattr(w, kind)) if "school" in kind else Target.region(getattr(w, kind))
    assert can(session, person, Act.REPORT, target) is allowed


def test_scope_helpers(world: tuple[Session, World]) -> None:
    session, w = world
    parent = session.get(Person, w.people["guardian"])
    teacher = session.get(Person, w.people["class_teacher"])
    admin = session.get(Person, w.people["admin"])
    assert roles_of(None) == set() and roles_of(parent) == set()
    assert has_role(teacher, Role.CLASS_TEACHER) and not has_role(teacher, Role.PRINCIPAL)
    assert scopes_with(teacher, Role.CLASS_TEACHER) == [(ScopeType.CLASS, w.own_class["class_teacher"])]
    assert [c.id for c in classes_in_scope(session, teacher, Role.CLASS_TEACHER)] == [
        w.own_class["class_teacher"]
    ]
    assert len(classes_in_scope(session, admin, Role.COUNTY_ADMIN)) == 7
    assert classes_in_scope(session, parent, Role.CLASS_TEACHER) == []
    assert parent is not None
    assert is_guardian_of(session, parent, w.own_student["guardian"])
    assert not is_guardian_of(session, parent, w.other_student["guardian"])
    assert len(children_of(session, parent)) == 2
    assert session.scalars(select(Guardian).where(Guardian.person_id == parent.id)).all()
