"""The scope helpers behind `can` and the lists flows offer: what encloses a class or a county, the
classes a person may act on in their exact order (school, grade, name), and a guardian's children
(active ones only, by id)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from chatbot.app import App
from chatbot.people.auth import Act, Target, can, children_of, classes_in_scope, enclosing_scopes
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
from db.session import transaction
from tests.conftest import DemoPeople


def test_a_class_is_enclosed_by_itself_its_school_and_its_county(session: Session, demo: DemoPeople) -> None:
    teacher = session.get(Person, demo.teacher)
    assert teacher is not None
    klass = session.get(SchoolClass, teacher.memberships[0].scope_id)
    assert klass is not None
    school = klass.school
    assert enclosing_scopes(session, Target.klass(klass.id)) == {
        ("class", klass.id),
        ("school", school.id),
        ("region", school.region_id),
    }
    # So the class teacher may take the roll of the class itself, and the county admin may report on it.
    assert can(session, teacher, Act.ROLLCALL, Target.klass(klass.id)) is True
    admin = session.get(Person, demo.admin)
    assert can(session, admin, Act.REPORT, Target.klass(klass.id)) is True
    assert enclosing_scopes(session, Target.klass(10**9)) == set()


def test_a_region_encloses_itself_but_id_zero_is_nothing(empty_app: App, now: datetime) -> None:
    with transaction(empty_app.session_factory) as s:
        assert enclosing_scopes(s, Target.region(7)) == {("region", 7)}
        assert enclosing_scopes(s, Target.region(0)) == set()
        # Even someone whose membership names region 0 gets nothing for it.
        odd = Person(name="odd", created_at=now)
        s.add(odd)
        s.flush()
        s.add(Membership(person_id=odd.id, role=Role.COUNTY_ADMIN, scope_type=ScopeType.REGION, scope_id=0))
        s.flush()
        s.refresh(odd)
        assert can(s, odd, Act.REPORT, Target.region(0)) is False


def _county(s: Session, now: datetime) -> tuple[Person, dict[str, int]]:
    """Two schools of one county, their classes inserted out of order, and the county's admin."""
    region = Region(code="order", name="排序县", timezone="Asia/Shanghai", settings={})
    s.add(region)
    s.flush()
    first = School(region_id=region.id, name="甲校", stage=Stage.PRIMARY)
    s.add(first)
    s.flush()
    second = School(region_id=region.id, name="乙校", stage=Stage.PRIMARY)
    s.add(second)
    s.flush()
    ids: dict[str, int] = {}
    # Inserted so that id order, grade order and name order all disagree with (school, grade, name).
    for key, school, grade, name in [
        ("B1", second, 1, "1班"),
        ("A2-1", first, 2, "1班"),
        ("A1-2", first, 1, "2班"),
        ("A1-1", first, 1, "1班"),
    ]:
        klass = SchoolClass(school_id=school.id, grade=grade, name=name)
        s.add(klass)
        s.flush()
        ids[key] = klass.id
    admin = Person(name="admin", created_at=now)
    s.add(admin)
    s.flush()
    s.add(
        Membership(
            person_id=admin.id, role=Role.COUNTY_ADMIN, scope_type=ScopeType.REGION, scope_id=region.id
        )
    )
    s.flush()
    s.refresh(admin)
    return admin, ids


def test_classes_in_scope_are_ordered_by_school_then_grade_then_name(empty_app: App, now: datetime) -> None:
    with transaction(empty_app.session_factory) as s:
        admin, ids = _county(s, now)
        found = classes_in_scope(s, admin, Role.COUNTY_ADMIN)
        assert [c.id for c in found] == [ids["A1-1"], ids["A1-2"], ids["A2-1"], ids["B1"]]
        assert [(c.school.name, c.grade, c.name) for c in found] == [
            ("甲校", 1, "1班"),
            ("甲校", 1, "2班"),
            ("甲校", 2, "1班"),
            ("乙校", 1, "1班"),
        ]


def test_children_of_lists_active_children_by_id(app: App, demo: DemoPeople) -> None:
    with transaction(app.session_factory) as s:
        parent = s.get(Person, demo.parent)
        assert parent is not None
        before = children_of(s, parent)
        assert [c.name for c in before] == ["潘佳涵", "郭轩"]
        assert [c.id for c in before] == sorted(c.id for c in before)
        # A new ward, and another one who left school.
        pupil = before[0]
        extra = Student(
            school_id=pupil.school_id,
            class_id=pupil.class_id,
            student_no="ZZ-EXTRA",
            name="新生",
            household=[],
        )
        gone = Student(
            school_id=pupil.school_id,
            class_id=pupil.class_id,
            student_no="ZZ-GONE",
            name="转学生",
            household=[],
            active=False,
        )
        s.add_all([extra, gone])
        s.flush()
        s.add_all(
            [
                Guardian(person_id=parent.id, student_id=gone.id),
                Guardian(person_id=parent.id, student_id=extra.id),
            ]
        )
        s.flush()
        after = children_of(s, parent)
        assert [c.id for c in after] == sorted([extra.id, *(c.id for c in before)])
        assert gone.id not in {c.id for c in after}
        assert children_of(s, None) == []
        assert s.scalars(select(Guardian.student_id).where(Guardian.person_id == parent.id)).all()
