"""Who a notice goes to: the TARGET syntax, its labels, who may use it, and its recipients (set-based).

TARGET = SCOPE ["/" AUDIENCE]
SCOPE  = "region:" ID | "school:" ID | "school:" ID "/grade:" N | "class:" ID
AUDIENCE = "parents" (default) | "teachers" | "both"

Examples: `region:1/teachers`, `school:3/parents`, `school:3/grade:7/both`, `class:5`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Select, func, literal, select, union
from sqlalchemy.orm import Session

from chatbot.i18n import N_, _
from chatbot.people.auth import Act, Target, can
from db.models import (
    ChannelIdentity,
    Guardian,
    Membership,
    Person,
    Region,
    Role,
    School,
    SchoolClass,
    ScopeType,
    Student,
)
from db.models.broadcast import Audience, BroadcastScope

TARGET_PATTERN = re.compile(
    r"^(?P<scope>region|school|class):(?P<id>\d{1,9})(?:/grade:(?P<grade>\d{1,2}))?(?:/(?P<audience>parents|teachers|both))?$"
)
AUDIENCE_LABELS = {
    Audience.PARENTS: N_("parents"),
    Audience.TEACHERS: N_("teachers"),
    Audience.BOTH: N_("parents and teachers"),
}
STAFF_ROLES = (Role.CLASS_TEACHER, Role.TEACHER)


class TargetError(ValueError):
    """A target that is malformed, unknown or outside the sender's scope; the message is translated."""


@dataclass(frozen=True)
class NoticeTarget:
    scope: BroadcastScope
    scope_id: int
    audience: Audience = Audience.PARENTS
    grade: int | None = None

    def code(self) -> str:
        if self.scope == BroadcastScope.GRADE:
            return f"school:{self.scope_id}/grade:{self.grade}/{self.audience.value}"
        return f"{self.scope.value}:{self.scope_id}/{self.audience.value}"

    def auth_target(self) -> Target:
        """What the sender must be allowed to broadcast to: a grade needs the whole school."""
        if self.scope == BroadcastScope.REGION:
            return Target.region(self.scope_id)
        if self.scope == BroadcastScope.CLASS:
            return Target.klass(self.scope_id)
        return Target.school(self.scope_id)

    def with_audience(self, audience: Audience) -> NoticeTarget:
        return NoticeTarget(self.scope, self.scope_id, audience, self.grade)


def parse_target(text: str) -> NoticeTarget:
    """Parse the TARGET syntax; raises TargetError with a translated message."""
    match = TARGET_PATTERN.match(text.strip().lower().replace(" ", ""))
    if match is None:
        raise TargetError(
            _(
                "Unknown target {target}. Use for example school:3/parents, school:3/grade:7/both, "
                "class:5/parents or region:1/teachers."
            ).format(target=text.strip()[:40])
        )
    scope = BroadcastScope(match["scope"])
    grade = int(match["grade"]) if match["grade"] else None
    if grade is not None:
        if scope != BroadcastScope.SCHOOL:
            raise TargetError(_("A grade can only be given inside a school, like school:3/grade:7/parents."))
        scope = BroadcastScope.GRADE
    audience = Audience(match["audience"]) if match["audience"] else Audience.PARENTS
    return NoticeTarget(scope, int(match["id"]), audience, grade)


def check_target(session: Session, sender: Person | None, target: NoticeTarget) -> None:
    """The target exists and the sender may broadcast to it; raises TargetError otherwise."""
    if not target_exists(session, target):
        raise TargetError(
            _("There is no such school, grade, class or region: {target}.").format(target=target.code())
        )
    if not can(session, sender, Act.BROADCAST, target.auth_target()):
        raise TargetError(
            _("You may not send notices to {target}.").format(target=target_label(session, target))
        )


def target_exists(session: Session, target: NoticeTarget) -> bool:
    if target.scope == BroadcastScope.REGION:
        return session.get(Region, target.scope_id) is not None
    if target.scope == BroadcastScope.SCHOOL:
        return session.get(School, target.scope_id) is not None
    if target.scope == BroadcastScope.CLASS:
        return session.get(SchoolClass, target.scope_id) is not None
    found = session.scalar(
        select(func.count())
        .select_from(SchoolClass)
        .where(SchoolClass.school_id == target.scope_id, SchoolClass.grade == target.grade)
    )
    return bool(found)


def target_label(session: Session, target: NoticeTarget, with_audience: bool = True) -> str:
    """A human name for the target, e.g. '红星小学 四年级 · parents'."""
    if target.scope == BroadcastScope.REGION:
        region = session.get(Region, target.scope_id)
        place = region.name if region else target.code()
    elif target.scope == BroadcastScope.SCHOOL:
        school = session.get(School, target.scope_id)
        place = school.name if school else target.code()
    elif target.scope == BroadcastScope.GRADE:
        school = session.get(School, target.scope_id)
        place = _("{school} grade {grade}").format(school=school.name if school else "?", grade=target.grade)
    else:
        klass = session.get(SchoolClass, target.scope_id)
        place = (
            _("{school} grade {grade} {name}").format(
                school=klass.school.name, grade=klass.grade, name=klass.name
            )
            if klass
            else target.code()
        )
    if not with_audience:
        return place
    return f"{place} · {_(AUDIENCE_LABELS[target.audience])}"


def target_timezone(session: Session, target: NoticeTarget, default: str) -> str:
    if target.scope == BroadcastScope.REGION:
        region = session.get(Region, target.scope_id)
        return region.timezone if region else default
    school_id = target.scope_id
    if target.scope == BroadcastScope.CLASS:
        klass = session.get(SchoolClass, target.scope_id)
        school_id = klass.school_id if klass else 0
    school = session.get(School, school_id)
    return school.tz if school else default


def _classes(target: NoticeTarget) -> Select[int]:
    query = select(SchoolClass.id)
    if target.scope == BroadcastScope.REGION:
        return query.join(School).where(School.region_id == target.scope_id)
    if target.scope == BroadcastScope.SCHOOL:
        return query.where(SchoolClass.school_id == target.scope_id)
    if target.scope == BroadcastScope.GRADE:
        return query.where(SchoolClass.school_id == target.scope_id, SchoolClass.grade == target.grade)
    return query.where(SchoolClass.id == target.scope_id)


def _schools(target: NoticeTarget) -> Select[int] | None:
    """Schools whose whole staff is addressed (principals and school-level teachers), if any."""
    if target.scope == BroadcastScope.REGION:
        return select(School.id).where(School.region_id == target.scope_id)
    if target.scope == BroadcastScope.SCHOOL:
        return select(School.id).where(School.id == target.scope_id)
    return None


def recipients_query(target: NoticeTarget, exclude_person_id: int | None = None) -> Select[tuple[int, str]]:
    """(person_id, role) of everyone the target addresses, each person once; staff win over parents."""
    classes = _classes(target).scalar_subquery()
    parts = []
    if target.audience in (Audience.TEACHERS, Audience.BOTH):
        parts.append(
            select(Membership.person_id.label("person_id"), literal("teacher").label("role")).where(
                Membership.role.in_(STAFF_ROLES),
                Membership.scope_type == ScopeType.CLASS,
                Membership.scope_id.in_(classes),
            )
        )
        schools = _schools(target)
        if schools is not None:
            parts.append(
                select(Membership.person_id.label("person_id"), literal("teacher").label("role")).where(
                    Membership.role.in_((*STAFF_ROLES, Role.PRINCIPAL)),
                    Membership.scope_type == ScopeType.SCHOOL,
                    Membership.scope_id.in_(schools.scalar_subquery()),
                )
            )
    if target.audience in (Audience.PARENTS, Audience.BOTH):
        parts.append(
            select(Guardian.person_id.label("person_id"), literal("parent").label("role"))
            .join(Student, Student.id == Guardian.student_id)
            .where(Student.active.is_(True), Student.class_id.in_(classes))
        )
    everyone = union(*parts).subquery()
    # "teacher" sorts after "parent", so max() keeps the staff role for a teacher who is also a parent.
    query = select(everyone.c.person_id, func.max(everyone.c.role)).group_by(everyone.c.person_id)
    if exclude_person_id is not None:
        query = query.where(everyone.c.person_id != exclude_person_id)
    return query


@dataclass(frozen=True)
class Reach:
    """How many people a target reaches: the preview's exact count."""

    people: int
    parents: int
    teachers: int
    reachable: int

    @property
    def unreachable(self) -> int:
        return self.people - self.reachable


def count_recipients(session: Session, target: NoticeTarget, exclude_person_id: int | None) -> Reach:
    who = recipients_query(target, exclude_person_id).subquery()
    people, parents = session.execute(
        select(func.count(), func.count().filter(who.c[1] == "parent")).select_from(who)
    ).one()
    reachable = session.scalar(
        select(func.count(func.distinct(ChannelIdentity.person_id))).where(
            ChannelIdentity.person_id.in_(select(who.c.person_id)), ChannelIdentity.active.is_(True)
        )
    )
    return Reach(int(people), int(parents), int(people) - int(parents), int(reachable or 0))


def choosable_targets(session: Session, person: Person | None, limit: int = 8) -> list[NoticeTarget]:
    """Scopes to offer as buttons: the region, each school, the grades of a principal's school, classes."""
    if person is None:
        return []
    found: list[NoticeTarget] = []
    for membership in person.memberships:
        if membership.role == Role.COUNTY_ADMIN and membership.scope_type == ScopeType.REGION:
            found.append(NoticeTarget(BroadcastScope.REGION, membership.scope_id))
            schools = session.scalars(
                select(School.id)
                .where(School.region_id == membership.scope_id)
                .order_by(School.id)
                .limit(limit)
            )
            found.extend(NoticeTarget(BroadcastScope.SCHOOL, school_id) for school_id in schools)
        elif membership.role == Role.PRINCIPAL and membership.scope_type == ScopeType.SCHOOL:
            found.append(NoticeTarget(BroadcastScope.SCHOOL, membership.scope_id))
            grades = session.scalars(
                select(SchoolClass.grade)
                .where(SchoolClass.school_id == membership.scope_id)
                .distinct()
                .order_by(SchoolClass.grade)
            )
            found.extend(NoticeTarget(BroadcastScope.GRADE, membership.scope_id, grade=g) for g in grades)
        elif membership.role == Role.CLASS_TEACHER and membership.scope_type == ScopeType.CLASS:
            found.append(NoticeTarget(BroadcastScope.CLASS, membership.scope_id))
    unique = list(dict.fromkeys(found))
    return [t for t in unique if can(session, person, Act.BROADCAST, t.auth_target())][:limit]
