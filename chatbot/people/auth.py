"""Authorization: one question for every flow and CLI command, denied unless a rule allows it.

Scopes nest region ⊇ school ⊇ class ⊇ student. A membership allows an action on a target
when its role may do that action and its scope contains the target.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Guardian, Person, Role, School, SchoolClass, ScopeType, Student


class Act(enum.StrEnum):
    ROLLCALL = "rollcall"
    LEAVE_REQUEST = "leave_request"
    LEAVE_DECIDE = "leave_decide"
    CASE_ACT = "case_act"
    CASE_VIEW = "case_view"
    BROADCAST = "broadcast"
    REPORT = "report"
    VIEW_STUDENT = "view_student"
    CONTACT_GUARDIAN = "contact_guardian"
    CALENDAR_EDIT = "calendar_edit"
    ENROLMENT_EDIT = "enrolment_edit"


# Which roles may do what; guardianship is handled separately (own children only).
ROLE_ACTS: dict[Act, frozenset[Role]] = {
    Act.ROLLCALL: frozenset({Role.CLASS_TEACHER, Role.TEACHER}),
    # A principal decides when the class teacher cannot be reached by chat (see leave_routing).
    Act.LEAVE_DECIDE: frozenset({Role.CLASS_TEACHER, Role.PRINCIPAL}),
    Act.CASE_ACT: frozenset({Role.CLASS_TEACHER, Role.PRINCIPAL, Role.COUNTY_ADMIN}),
    Act.CASE_VIEW: frozenset({Role.CLASS_TEACHER, Role.PRINCIPAL, Role.COUNTY_ADMIN}),
    Act.BROADCAST: frozenset({Role.CLASS_TEACHER, Role.PRINCIPAL, Role.COUNTY_ADMIN}),
    Act.REPORT: frozenset({Role.PRINCIPAL, Role.COUNTY_ADMIN}),
    Act.VIEW_STUDENT: frozenset({Role.CLASS_TEACHER, Role.TEACHER, Role.PRINCIPAL, Role.COUNTY_ADMIN}),
    Act.CONTACT_GUARDIAN: frozenset({Role.CLASS_TEACHER, Role.PRINCIPAL, Role.COUNTY_ADMIN}),
    Act.CALENDAR_EDIT: frozenset({Role.PRINCIPAL, Role.COUNTY_ADMIN}),
    Act.ENROLMENT_EDIT: frozenset({Role.CLASS_TEACHER, Role.PRINCIPAL}),
}
GUARDIAN_ACTS = frozenset({Act.LEAVE_REQUEST, Act.VIEW_STUDENT})


@dataclass(frozen=True)
class Target:
    """Something an action is done to, as (kind, id): region, school, class or student."""

    kind: ScopeType | str
    id: int

    @staticmethod
    def student(student_id: int) -> Target:
        return Target("student", student_id)

    @staticmethod
    def klass(class_id: int) -> Target:
        return Target(ScopeType.CLASS, class_id)

    @staticmethod
    def school(school_id: int) -> Target:
        return Target(ScopeType.SCHOOL, school_id)

    @staticmethod
    def region(region_id: int) -> Target:
        return Target(ScopeType.REGION, region_id)


def enclosing_scopes(session: Session, target: Target) -> set[tuple[str, int]]:
    """Every (scope_type, id) that contains the target, the target itself included."""
    kind = str(target.kind)
    scopes: set[tuple[str, int]] = set()
    class_id: int | None = None
    school_id: int | None = None
    if kind == "student":
        student = session.get(Student, target.id)
        if student is None:
            return set()
        class_id, school_id = student.class_id, student.school_id
    elif kind == ScopeType.CLASS:
        klass = session.get(SchoolClass, target.id)
        if klass is None:
            return set()
        class_id, school_id = klass.id, klass.school_id
    elif kind == ScopeType.SCHOOL:
        school_id = target.id
    elif kind == ScopeType.REGION:
        return {(ScopeType.REGION.value, target.id)} if target.id else set()
    else:
        return set()
    school = session.get(School, school_id)
    if school is None:
        return set()
    if class_id is not None:
        scopes.add((ScopeType.CLASS.value, class_id))
    scopes.add((ScopeType.SCHOOL.value, school.id))
    scopes.add((ScopeType.REGION.value, school.region_id))
    return scopes


def is_guardian_of(session: Session, person: Person, student_id: int) -> bool:
    return session.get(Guardian, {"person_id": person.id, "student_id": student_id}) is not None


def can(session: Session, person: Person | None, act: Act, target: Target) -> bool:
    """Deny by default: unbound users, unknown targets and roles outside the scope get False."""
    if person is None:
        return False
    if act in GUARDIAN_ACTS and str(target.kind) == "student" and is_guardian_of(session, person, target.id):
        return True
    roles = ROLE_ACTS.get(act)
    if not roles:
        return False
    scopes = enclosing_scopes(session, target)
    if not scopes:
        return False
    for membership in person.memberships:
        if membership.role in roles and (membership.scope_type.value, membership.scope_id) in scopes:
            return True
    return False


def roles_of(person: Person | None) -> set[Role]:
    return {m.role for m in person.memberships} if person else set()


def is_guardian(person: Person | None) -> bool:
    return bool(person and person.wards)


def has_role(person: Person | None, *roles: Role) -> bool:
    return bool(roles_of(person) & set(roles))


def scopes_with(person: Person | None, *roles: Role) -> list[tuple[ScopeType, int]]:
    """The scopes where the person holds any of `roles`, for listing what they may act on."""
    if person is None:
        return []
    return [(m.scope_type, m.scope_id) for m in person.memberships if m.role in roles]


def classes_in_scope(session: Session, person: Person | None, *roles: Role) -> list[SchoolClass]:
    """Every class the person may act on with one of `roles`, ordered by school, grade, name."""
    class_ids: set[int] = set()
    school_ids: set[int] = set()
    region_ids: set[int] = set()
    for scope_type, scope_id in scopes_with(person, *roles):
        {ScopeType.CLASS: class_ids, ScopeType.SCHOOL: school_ids, ScopeType.REGION: region_ids}[
            scope_type
        ].add(scope_id)
    if not (class_ids or school_ids or region_ids):
        return []
    query = (
        select(SchoolClass)
        .join(School)
        .where(
            SchoolClass.id.in_(class_ids)
            | SchoolClass.school_id.in_(school_ids)
            | School.region_id.in_(region_ids)
        )
    )
    return list(session.scalars(query.order_by(School.id, SchoolClass.grade, SchoolClass.name)))


def children_of(session: Session, person: Person | None) -> list[Student]:
    if person is None:
        return []
    query = select(Student).join(Guardian).where(Guardian.person_id == person.id, Student.active.is_(True))
    return list(session.scalars(query.order_by(Student.id)))


__all__ = [
    "Act",
    "Target",
    "can",
    "children_of",
    "classes_in_scope",
    "has_role",
    "is_guardian",
    "is_guardian_of",
    "roles_of",
    "scopes_with",
]
