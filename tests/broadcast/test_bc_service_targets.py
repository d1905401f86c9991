"""Targets (chatbot/broadcast/targets.py): the TARGET syntax and its refusals, labels and time zones,
exactly who each scope and audience addresses, the preview's counts and the scopes offered as buttons."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from chatbot.app import App
from chatbot.broadcast.targets import (
    NoticeTarget,
    Reach,
    check_target,
    choosable_targets,
    count_recipients,
    parse_target,
    recipients_query,
    target_exists,
    target_label,
    target_timezone,
)
from chatbot.i18n import use_locale
from db.models import Guardian, Membership, Person, Region, Role, School, SchoolClass, ScopeType, Student
from db.models.broadcast import Audience, BroadcastScope
from db.session import transaction
from tests.broadcast.bc_service_helpers import add_account, refusal_en

P, T, B = Audience.PARENTS, Audience.TEACHERS, Audience.BOTH
REGION, SCHOOL, GRADE, CLASS = (
    BroadcastScope.REGION,
    BroadcastScope.SCHOOL,
    BroadcastScope.GRADE,
    BroadcastScope.CLASS,
)


# --- syntax --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" School : 3 / Grade : 7 / BOTH ", NoticeTarget(GRADE, 3, B, 7)),
        ("region:12/teachers", NoticeTarget(REGION, 12, T)),
        ("class:5", NoticeTarget(CLASS, 5, P)),
        ("school:3/grade:10/parents", NoticeTarget(GRADE, 3, P, 10)),
    ],
)
def test_a_target_is_read_whatever_its_case_and_spaces(text: str, expected: NoticeTarget) -> None:
    parsed = parse_target(text)
    assert (parsed.scope, parsed.scope_id, parsed.audience, parsed.grade) == (
        expected.scope,
        expected.scope_id,
        expected.audience,
        expected.grade,
    )


def test_a_bad_target_is_refused_quoting_at_most_forty_characters() -> None:
    examples = (
        "Use for example school:3/parents, school:3/grade:7/both, class:5/parents or region:1/teachers."
    )
    assert refusal_en(lambda: parse_target("  town:1  ")) == f"Unknown target town:1. {examples}"
    long = "county:" + "9" * 50
    assert refusal_en(lambda: parse_target(long)) == f"Unknown target {long[:40]}. {examples}"
    grade_outside = "A grade can only be given inside a school, like school:3/grade:7/parents."
    assert refusal_en(lambda: parse_target("class:5/grade:2")) == grade_outside
    assert refusal_en(lambda: parse_target("region:1/grade:3/parents")) == grade_outside


# --- existence, permission, labels, time zones ---------------------------------------------------


def test_a_target_exists_only_if_its_school_grade_class_or_region_does(app: App) -> None:
    cases = {
        NoticeTarget(REGION, 1): True,
        NoticeTarget(REGION, 2): False,
        NoticeTarget(SCHOOL, 2): True,
        NoticeTarget(SCHOOL, 3): False,
        NoticeTarget(CLASS, 7): True,
        NoticeTarget(CLASS, 8): False,
        NoticeTarget(GRADE, 2, P, 7): True,
        NoticeTarget(GRADE, 1, P, 7): False,  # grade 7 is at the other school
        NoticeTarget(GRADE, 2, P, 3): False,
        NoticeTarget(GRADE, 9, P, 3): False,
    }
    with app.session_factory() as s:
        assert {t: target_exists(s, t) for t in cases} == cases


def test_a_target_is_checked_for_existence_then_permission(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    def check(who: int | None, target: NoticeTarget) -> None:
        with app.session_factory() as s:
            check_target(s, s.get(Person, who) if who else None, target)

    check(demo.admin, NoticeTarget(REGION, 1))
    check(demo.principal, NoticeTarget(GRADE, 1, B, 4))
    check(demo.teacher, NoticeTarget(CLASS, 1))
    assert (
        refusal_en(lambda: check(demo.admin, NoticeTarget(GRADE, 1, P, 9)))
        == "There is no such school, grade, class or region: school:1/grade:9/parents."
    )
    assert (
        refusal_en(lambda: check(None, NoticeTarget(REGION, 5, T)))
        == "There is no such school, grade, class or region: region:5/teachers."
    )
    assert (
        refusal_en(lambda: check(demo.teacher, NoticeTarget(SCHOOL, 1, T)))
        == "You may not send notices to 红星小学 · teachers."
    )
    assert (
        refusal_en(lambda: check(demo.principal, NoticeTarget(GRADE, 2, B, 8)))
        == "You may not send notices to 东乡第一初级中学 grade 8 · parents and teachers."
    )
    assert (
        refusal_en(lambda: check(None, NoticeTarget(CLASS, 1)))
        == "You may not send notices to 红星小学 grade 3 1班 · parents."
    )


def test_labels_name_the_place_and_audience_in_the_readers_language(app: App) -> None:
    targets = [
        NoticeTarget(REGION, 1, B),
        NoticeTarget(REGION, 9, T),
        NoticeTarget(SCHOOL, 1, T),
        NoticeTarget(SCHOOL, 9),
        NoticeTarget(GRADE, 2, B, 8),
        NoticeTarget(GRADE, 9, P, 4),
        NoticeTarget(CLASS, 6),
        NoticeTarget(CLASS, 99, T),
    ]
    with app.session_factory() as s:
        with use_locale("en"):
            english = [target_label(s, t) for t in targets]
            places = [target_label(s, t, with_audience=False) for t in targets]
        with use_locale("zh_Hant"):
            traditional = [target_label(s, t) for t in targets]
    assert english == [
        "临夏县(演示) · parents and teachers",
        "region:9/teachers · teachers",
        "红星小学 · teachers",
        "school:9/parents · parents",
        "东乡第一初级中学 grade 8 · parents and teachers",
        "? grade 4 · parents",
        "东乡第一初级中学 grade 8 2班 · parents",
        "class:99/teachers · teachers",
    ]
    assert places == [label.rsplit(" · ", 1)[0] for label in english]
    assert traditional == [
        "临夏县(演示) · 家長和教師",
        "region:9/teachers · 教師",
        "红星小学 · 教師",
        "school:9/parents · 家長",
        "东乡第一初级中学 8年級 · 家長和教師",
        "? 4年級 · 家長",
        "东乡第一初级中学 8年級2班 · 家長",
        "class:99/teachers · 教師",
    ]


def test_a_target_takes_the_time_zone_of_its_school_or_region(app: App) -> None:
    with transaction(app.session_factory) as s:
        s.execute(update(Region).where(Region.id == 1).values(timezone="Asia/Kolkata"))
        s.execute(update(School).where(School.id == 2).values(timezone="Asia/Urumqi"))
    cases = {
        NoticeTarget(REGION, 1): "Asia/Kolkata",
        NoticeTarget(REGION, 9): "Europe/Berlin",
        NoticeTarget(SCHOOL, 1): "Asia/Kolkata",  # no zone of its own: its region's
        NoticeTarget(SCHOOL, 2): "Asia/Urumqi",
        NoticeTarget(SCHOOL, 9): "Europe/Berlin",
        NoticeTarget(GRADE, 2, P, 7): "Asia/Urumqi",
        NoticeTarget(CLASS, 5): "Asia/Urumqi",
        NoticeTarget(CLASS, 1): "Asia/Kolkata",
        NoticeTarget(CLASS, 99): "Europe/Berlin",
    }
    with app.session_factory() as s:
        assert {t: target_timezone(s, t, "Europe/Berlin") for t in cases} == cases


# --- who a target addresses ----------------------------------------------------------------------


def _person(s, name: str) -> int:  # type: ignore[no-untyped-def]
    person = Person(name=name, created_at=datetime(2026, 11, 1, tzinfo=UTC))
    s.add(person)
    s.flush()
    return int(person.id)


def extra_people(app: App, demo) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Staff the demo lacks (a subject teacher, school-level teachers) and a second county."""
    with transaction(app.session_factory) as s:
        ids = {name: _person(s, name) for name in ("Tom", "Sue", "Lee", "Ann", "Bob", "Pat", "Max", "Zed")}
        region = Region(code="other", name="Other County", timezone="Asia/Shanghai")
        s.add(region)
        s.flush()
        school = School(region_id=region.id, name="Hill School")
        s.add(school)
        s.flush()
        klass = SchoolClass(school_id=school.id, grade=3, name="A")
        s.add(klass)
        s.flush()
        pupil = Student(school_id=school.id, class_id=klass.id, student_no="X1", name="Kid", active=True)
        s.add(pupil)
        s.flush()
        s.add(Guardian(person_id=ids["Pat"], student_id=pupil.id))
        ids["region"], ids["school"], ids["class"] = region.id, school.id, klass.id
        for person, role, scope, scope_id in [
            (ids["Tom"], Role.TEACHER, ScopeType.CLASS, 2),
            (ids["Sue"], Role.TEACHER, ScopeType.SCHOOL, 1),
            (ids["Lee"], Role.CLASS_TEACHER, ScopeType.SCHOOL, 1),
            (ids["Max"], Role.COUNTY_ADMIN, ScopeType.SCHOOL, 1),
            # A principal's membership put on a class by hand: only teaching roles count in a class.
            (ids["Zed"], Role.PRINCIPAL, ScopeType.CLASS, 1),
            (ids["Ann"], Role.CLASS_TEACHER, ScopeType.CLASS, klass.id),
            (ids["Bob"], Role.PRINCIPAL, ScopeType.SCHOOL, school.id),
        ]:
            s.add(Membership(person_id=person, role=role, scope_type=scope, scope_id=scope_id))
        # The class teacher of class 1 is also the parent of a pupil in class 2.
        pupil_2 = s.scalars(select(Student.id).where(Student.class_id == 2).order_by(Student.id)).first()
        s.add(Guardian(person_id=demo.teacher, student_id=pupil_2))
        # A pupil who left class 1: a guardian with no other child there is no longer addressed.
        left = s.scalars(select(Student).where(Student.class_id == 1).order_by(Student.id.desc())).first()
        assert left is not None
        left.active = False
    return ids


def named(app: App, target: NoticeTarget, exclude: int | None = None) -> dict[str, str]:
    with app.session_factory() as s:
        rows = s.execute(recipients_query(target, exclude)).all()
        names = dict(s.execute(select(Person.id, Person.name)).all())
    assert len(rows) == len({pid for pid, _role in rows})  # each person once
    return {names[pid]: role for pid, role in rows}


def guardians(app: App, class_ids: list[int]) -> dict[str, str]:
    with app.session_factory() as s:
        return {
            name: "parent"
            for name in s.scalars(
                select(Person.name)
                .join(Guardian, Guardian.person_id == Person.id)
                .join(Student, Student.id == Guardian.student_id)
                .where(Student.class_id.in_(class_ids), Student.active.is_(True))
            )
        }


RED_STAR = {n: "teacher" for n in ("张校长", "李芳", "吴洋鹏", "赵秀", "高然诺", "Tom", "Sue", "Lee")}
DONGXIANG = {n: "teacher" for n in ("赵霞思校长", "潘雨远", "蔡强杰", "刘兰鹏")}


def test_each_scope_and_audience_addresses_exactly_its_people(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    ids = extra_people(app, demo)
    assert named(app, NoticeTarget(CLASS, 1, T)) == {"李芳": "teacher"}
    assert named(app, NoticeTarget(CLASS, 2, T)) == {"吴洋鹏": "teacher", "Tom": "teacher"}
    assert named(app, NoticeTarget(GRADE, 2, T, 8)) == {"蔡强杰": "teacher"}
    assert named(app, NoticeTarget(SCHOOL, 1, T)) == RED_STAR
    assert named(app, NoticeTarget(SCHOOL, 2, T)) == DONGXIANG
    assert named(app, NoticeTarget(REGION, 1, T)) == RED_STAR | DONGXIANG
    assert named(app, NoticeTarget(REGION, ids["region"], T)) == {"Ann": "teacher", "Bob": "teacher"}
    assert named(app, NoticeTarget(SCHOOL, 1, T), exclude=demo.principal) == {
        k: v for k, v in RED_STAR.items() if k != "张校长"
    }

    class_1 = guardians(app, [1])
    assert len(class_1) >= 30
    assert named(app, NoticeTarget(CLASS, 1, P)) == class_1
    assert named(app, NoticeTarget(CLASS, 2, P)) == guardians(app, [2])
    assert "李芳" in guardians(app, [2])
    assert named(app, NoticeTarget(CLASS, 1, B)) == class_1 | {"李芳": "teacher"}
    # A teacher who is also a parent is addressed once, as a teacher.
    assert named(app, NoticeTarget(SCHOOL, 1, B)) == guardians(app, [1, 2, 3, 4]) | RED_STAR
    assert named(app, NoticeTarget(GRADE, 1, P, 4)) == guardians(app, [2])
    # Grade 3 of 红星小学 only: Hill School's grade 3 (Ann, Pat) is another school's.
    assert named(app, NoticeTarget(GRADE, 1, B, 3)) == class_1 | {"李芳": "teacher"}
    assert named(app, NoticeTarget(REGION, ids["region"], B)) == {
        "Ann": "teacher",
        "Bob": "teacher",
        "Pat": "parent",
    }
    with app.session_factory() as s:
        inactive = s.scalars(select(Student.id).where(Student.class_id == 1, Student.active.is_(False))).all()
        assert len(inactive) == 1
        all_guardians = set(
            s.scalars(
                select(Person.name)
                .join(Guardian, Guardian.person_id == Person.id)
                .join(Student, Student.id == Guardian.student_id)
                .where(Student.class_id == 1)
            )
        )
    assert all_guardians - set(class_1)  # the leaver's guardian is left out


def test_the_preview_counts_people_parents_teachers_and_those_on_a_chat_account(
    app: App,
    demo,
    now: datetime,  # type: ignore[no-untyped-def]
) -> None:
    target = NoticeTarget(CLASS, 1, B)

    def reach(exclude: int | None = None) -> Reach:
        with app.session_factory() as s:
            return count_recipients(s, target, exclude)

    with app.session_factory() as s:
        parents = sorted(
            set(
                s.scalars(
                    select(Guardian.person_id)
                    .join(Student, Student.id == Guardian.student_id)
                    .where(Student.class_id == 1, Student.active.is_(True))
                )
            )
        )
    nobody_linked = reach()
    assert nobody_linked == Reach(len(parents) + 1, len(parents), 1, 0)
    assert nobody_linked.unreachable == len(parents) + 1

    add_account(app, parents[0], now)
    add_account(app, parents[0], now, channel="telegram")  # one person, two accounts
    add_account(app, parents[1], now, active=False)
    add_account(app, parents[2], now)
    add_account(app, demo.teacher, now)
    add_account(app, demo.principal, now)  # not addressed
    assert reach() == Reach(len(parents) + 1, len(parents), 1, 3)
    assert reach().unreachable == len(parents) - 2
    assert reach(exclude=demo.teacher) == Reach(len(parents), len(parents), 0, 2)


# --- scopes offered as buttons -------------------------------------------------------------------


def test_the_scopes_offered_follow_each_role(app: App, demo) -> None:  # type: ignore[no-untyped-def]
    ids = extra_people(app, demo)
    with transaction(app.session_factory) as s:
        # A grade 1 class added last: grades are offered in order, each once.
        s.add(SchoolClass(school_id=1, grade=1, name="1班"))
        s.add(SchoolClass(school_id=1, grade=4, name="2班"))
        s.add(School(region_id=1, name="第三小学"))

    def offered(who: int | None, limit: int | None = None) -> list[NoticeTarget]:
        with app.session_factory() as s:
            person = s.get(Person, who) if who else None
            return choosable_targets(s, person) if limit is None else choosable_targets(s, person, limit)

    assert offered(demo.admin) == [
        NoticeTarget(REGION, 1),
        NoticeTarget(SCHOOL, 1),
        NoticeTarget(SCHOOL, 2),
        NoticeTarget(SCHOOL, 4),
    ]
    assert offered(demo.admin, limit=2) == [NoticeTarget(REGION, 1), NoticeTarget(SCHOOL, 1)]
    assert offered(demo.principal) == [
        NoticeTarget(SCHOOL, 1),
        *(NoticeTarget(GRADE, 1, grade=g) for g in (1, 3, 4, 5, 6)),
    ]
    assert offered(demo.teacher) == [NoticeTarget(CLASS, 1)]
    assert offered(ids["Bob"]) == [
        NoticeTarget(SCHOOL, ids["school"]),
        NoticeTarget(GRADE, ids["school"], grade=3),
    ]
    # Teaching a subject, or a class teacher or county admin at the level of a school, offers nothing.
    assert offered(ids["Tom"]) == []
    assert offered(ids["Lee"]) == []
    assert offered(ids["Max"]) == []
    assert offered(demo.parent) == []
    assert offered(None) == []

    # Two roles: the school the admin also heads is offered once.
    with transaction(app.session_factory) as s:
        s.add(Membership(person_id=demo.admin, role=Role.PRINCIPAL, scope_type=ScopeType.SCHOOL, scope_id=1))
        s.add(
            Membership(person_id=demo.admin, role=Role.CLASS_TEACHER, scope_type=ScopeType.CLASS, scope_id=5)
        )
    # (The order of a person's roles is the database's: compare the offers as a set, each once.)
    assert len(offered(demo.admin)) == 8  # ten, at most eight offered
    both = offered(demo.admin, limit=20)
    assert len(both) == len(set(both))
    assert set(both) == {
        NoticeTarget(REGION, 1),
        NoticeTarget(SCHOOL, 1),
        NoticeTarget(SCHOOL, 2),
        NoticeTarget(SCHOOL, 4),
        *(NoticeTarget(GRADE, 1, grade=g) for g in (1, 3, 4, 5, 6)),
        NoticeTarget(CLASS, 5),
    }
