"""Writing checked rows to the database, set-based: a few statements per table, in batches.

Re-importing the same file changes nothing: pupils are matched by (school, student_no),
guardians and teachers by phone number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from chatbot.i18n import _
from chatbot.people.roster.model import ImportCounts, RosterError, RosterRow
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
from db.sql import chunks

# Rows per batched statement. The roster has always written 500 at a time, under db.sql's default
# of 900; passing it keeps an import issuing the same statements as before.
CHUNK = 500
# The pupil columns an import sets, in the order _students reads them back.
STUDENT_FIELDS = ("class_id", "name", "gender", "boarding", "household", "active")

# (school id, grade, class name): a class as the file names it.
ClassKey = tuple[int, int, str]
# (school id, student number): a pupil as the file names it.
StudentKey = tuple[int, str]


def stage_for_grade(grade: int) -> Stage:
    """The school stage a grade belongs to: 1–6 primary, 7–9 junior, 10–12 senior."""
    return Stage.PRIMARY if grade <= 6 else Stage.JUNIOR if grade <= 9 else Stage.SENIOR


def resolve_region(session: Session, code: str | None) -> Region:
    """The region named by code (created if new), else the only region; raises RosterError otherwise."""
    if code:
        region = session.scalars(select(Region).where(Region.code == code)).one_or_none()
        if region is None:
            region = Region(code=code, name=code, timezone="Asia/Shanghai", settings={})
            session.add(region)
            session.flush()
        return region
    regions = list(session.scalars(select(Region).limit(2)))
    if len(regions) == 1:
        return regions[0]
    if not regions:
        raise RosterError(_("There is no region yet: pass --region CODE to create one."))
    raise RosterError(_("There are several regions: pass --region CODE to choose one."))


def write_roster(
    session: Session,
    region: Region,
    rows: Sequence[RosterRow],
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> ImportCounts:
    """Upsert schools, classes, people, pupils, guardian links and class teachers, set-based."""
    counts = ImportCounts(rows=len(rows))
    tick = progress or (lambda n: None)
    schools = _upsert_schools(session, region, rows, counts)
    classes = _upsert_classes(session, schools, rows, counts)
    people = _upsert_people(session, rows, now, counts)
    tick(len(rows) // 4)
    students = _upsert_students(session, schools, classes, rows, counts, tick)
    _sync_guardians(session, schools, students, people, rows, counts)
    _sync_class_teachers(session, schools, classes, people, rows, counts)
    session.add(
        AuditLog(
            at=now,
            actor_person_id=None,
            action="roster.import",
            target=f"region:{region.id}",
            details=counts.as_dict(),
        )
    )
    session.flush()
    return counts


def _upsert_schools(
    session: Session, region: Region, rows: Sequence[RosterRow], counts: ImportCounts
) -> dict[str, int]:
    """School name → id, adding the region's new schools with the stage of their lowest grade."""
    names = {row.school for row in rows}
    existing = {
        s.name: s.id
        for s in session.scalars(select(School).where(School.region_id == region.id, School.name.in_(names)))
    }
    lowest: dict[str, int] = {}
    for row in rows:
        lowest[row.school] = min(lowest.get(row.school, 99), row.grade)
    for name in sorted(names - existing.keys()):
        school = School(region_id=region.id, name=name, stage=stage_for_grade(lowest[name]))
        session.add(school)
        session.flush()
        existing[name] = school.id
        counts.schools_created += 1
    return existing


def _upsert_classes(
    session: Session, schools: dict[str, int], rows: Sequence[RosterRow], counts: ImportCounts
) -> dict[ClassKey, int]:
    """Every class of the file's schools → id, after adding the file's new classes."""
    existing = {
        (c.school_id, c.grade, c.name): c.id
        for c in session.scalars(select(SchoolClass).where(SchoolClass.school_id.in_(schools.values())))
    }
    wanted = {(schools[row.school], row.grade, row.klass) for row in rows}
    new = sorted(wanted - existing.keys())
    if new:
        session.execute(insert(SchoolClass), [{"school_id": s, "grade": g, "name": n} for s, g, n in new])
        counts.classes_created += len(new)
        existing = {
            (c.school_id, c.grade, c.name): c.id
            for c in session.scalars(select(SchoolClass).where(SchoolClass.school_id.in_(schools.values())))
        }
    return existing


def _upsert_people(
    session: Session, rows: Sequence[RosterRow], now: datetime, counts: ImportCounts
) -> dict[str, int]:
    """Phone → person id, adding new people and renaming known ones; a phone's first name in the file wins."""
    names: dict[str, str] = {}
    for row in rows:
        if row.teacher_phone:
            names.setdefault(row.teacher_phone, row.teacher_name)
        if row.guardian_phone:
            names.setdefault(row.guardian_phone, row.guardian_name)
    found = _people_by_phone(session, list(names))
    renamed = [
        {"id": pid, "name": names[phone]} for phone, (pid, name) in found.items() if name != names[phone]
    ]
    if renamed:
        session.execute(update(Person), renamed)
        counts.people_updated += len(renamed)
    new = [phone for phone in names if phone not in found]
    for part in chunks(new, CHUNK):
        session.execute(
            insert(Person), [{"name": names[phone], "phone": phone, "created_at": now} for phone in part]
        )
    counts.people_created += len(new)
    if new:
        found.update(_people_by_phone(session, new))
    return {phone: pid for phone, (pid, _name) in found.items()}


def _people_by_phone(session: Session, phones: Sequence[str]) -> dict[str, tuple[int, str]]:
    """Phone → (person id, name) of the people known by these phones; for a shared phone, the oldest."""
    found: dict[str, tuple[int, str]] = {}
    for part in chunks(phones, CHUNK):
        for pid, phone, name in session.execute(
            select(Person.id, Person.phone, Person.name).where(Person.phone.in_(part)).order_by(Person.id)
        ):
            found.setdefault(str(phone), (pid, name))
    return found


def _upsert_students(
    session: Session,
    schools: dict[str, int],
    classes: dict[ClassKey, int],
    rows: Sequence[RosterRow],
    counts: ImportCounts,
    tick: Callable[[int], None],
) -> dict[StudentKey, int]:
    """Pupil → id, after updating the changed pupils and adding the new ones."""
    wanted = _wanted_students(schools, classes, rows)
    school_ids = sorted({school_id for school_id, _number in wanted})
    existing = _students(session, school_ids)
    updates: list[dict[str, Any]] = []
    for key, values in wanted.items():
        current = existing.get(key)
        if current is None:
            continue
        student_id, *fields = current
        if tuple(fields) == tuple(values[f] for f in STUDENT_FIELDS):
            counts.students_unchanged += 1
        else:
            updates.append({"id": student_id, **{f: values[f] for f in STUDENT_FIELDS}})
    for part in chunks(updates, CHUNK):
        session.execute(update(Student), list(part))
    counts.students_updated += len(updates)
    tick(len(rows) // 4)
    new = [values for key, values in wanted.items() if key not in existing]
    for part in chunks(new, CHUNK):
        session.execute(insert(Student), list(part))
    counts.students_created += len(new)
    tick(len(rows) // 4)
    ids = {key: value[0] for key, value in existing.items()}
    if new:
        query = select(Student.school_id, Student.student_no, Student.id).where(
            Student.school_id.in_(school_ids)
        )
        ids = {(school_id, number): student_id for school_id, number, student_id in session.execute(query)}
    return ids


def _wanted_students(
    schools: dict[str, int], classes: dict[ClassKey, int], rows: Sequence[RosterRow]
) -> dict[StudentKey, dict[str, Any]]:
    """Each pupil's row values as the file gives them; a pupil's first row wins (validation made them agree)."""
    wanted: dict[StudentKey, dict[str, Any]] = {}
    for row in rows:
        school_id = schools[row.school]
        wanted.setdefault(
            (school_id, row.student_no),
            {
                "school_id": school_id,
                "class_id": classes[(school_id, row.grade, row.klass)],
                "student_no": row.student_no,
                "name": row.student_name,
                "gender": row.gender or None,
                "boarding": row.boarding,
                "household": list(row.household),
                "active": True,
            },
        )
    return wanted


def _students(session: Session, school_ids: Sequence[int]) -> dict[tuple[int, str], tuple[Any, ...]]:
    """Every pupil of the schools in the file, in one query per school: cheaper than IN lists of numbers."""
    found: dict[tuple[int, str], tuple[Any, ...]] = {}
    columns = [getattr(Student, f) for f in STUDENT_FIELDS]
    for school_id in school_ids:
        query = select(Student.school_id, Student.student_no, Student.id, *columns).where(
            Student.school_id == school_id
        )
        for school, number, *rest in session.execute(query):
            rest[5] = list(rest[5] or [])  # id, then STUDENT_FIELDS: household is 5th
            found[(school, number)] = tuple(rest)
    return found


def _sync_guardians(
    session: Session,
    schools: dict[str, int],
    students: dict[StudentKey, int],
    people: dict[str, int],
    rows: Sequence[RosterRow],
    counts: ImportCounts,
) -> None:
    """For each pupil with guardians in the file, the file's guardians become the whole list."""
    wanted: dict[int, dict[int, str | None]] = defaultdict(dict)
    for row in rows:
        if row.guardian_phone:
            student_id = students[(schools[row.school], row.student_no)]
            wanted[student_id][people[row.guardian_phone]] = row.guardian_relation or None
    current = _current_guardians(session, list(wanted))
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    gone: list[tuple[int, int]] = []
    for student_id, guardians in wanted.items():
        have = current.get(student_id, {})
        for person_id, relation in guardians.items():
            if person_id not in have:
                new.append({"person_id": person_id, "student_id": student_id, "relation": relation})
            elif have[person_id] != relation:
                changed.append({"person_id": person_id, "student_id": student_id, "relation": relation})
        gone.extend((person_id, student_id) for person_id in have if person_id not in guardians)
    for batch in chunks(new, CHUNK):
        session.execute(insert(Guardian), list(batch))
    for batch in chunks(changed, CHUNK):
        session.execute(update(Guardian), list(batch))
    for pairs in chunks(gone, CHUNK):
        session.execute(
            delete(Guardian).where(tuple_(Guardian.person_id, Guardian.student_id).in_(list(pairs)))
        )
    counts.guardian_links_added += len(new)
    counts.guardian_links_removed += len(gone)
    counts.people_updated += len(changed)


def _current_guardians(session: Session, student_ids: Sequence[int]) -> dict[int, dict[int, str | None]]:
    """Pupil id → {guardian's person id → relation} as the database has them now."""
    current: dict[int, dict[int, str | None]] = defaultdict(dict)
    for part in chunks(student_ids, CHUNK):
        for person_id, student_id, relation in session.execute(
            select(Guardian.person_id, Guardian.student_id, Guardian.relation).where(
                Guardian.student_id.in_(part)
            )
        ):
            current[student_id][person_id] = relation
    return current


def _sync_class_teachers(
    session: Session,
    schools: dict[str, int],
    classes: dict[ClassKey, int],
    people: dict[str, int],
    rows: Sequence[RosterRow],
    counts: ImportCounts,
) -> None:
    """The file's class teacher of a class replaces the previous one (class and membership)."""
    wanted: dict[int, int] = {}
    for row in rows:
        if row.teacher_phone:
            school_id = schools[row.school]
            wanted[classes[(school_id, row.grade, row.klass)]] = people[row.teacher_phone]
    if not wanted:
        return
    current_teacher, memberships = _current_class_teachers(session, list(wanted))
    for class_id, person_id in wanted.items():
        holders = memberships.get(class_id, set())
        if current_teacher.get(class_id) != person_id or holders != {person_id}:
            counts.teacher_changes += 1
        if current_teacher.get(class_id) != person_id:
            session.execute(
                update(SchoolClass).where(SchoolClass.id == class_id).values(class_teacher_id=person_id)
            )
        if holders != {person_id}:
            _make_sole_class_teacher(session, class_id, person_id, holders)


def _current_class_teachers(
    session: Session, class_ids: Sequence[int]
) -> tuple[dict[int, int | None], dict[int, set[int]]]:
    """Class id → its class_teacher_id, and class id → the people holding its class-teacher membership."""
    current_teacher = {
        class_id: teacher_id
        for class_id, teacher_id in session.execute(
            select(SchoolClass.id, SchoolClass.class_teacher_id).where(SchoolClass.id.in_(class_ids))
        )
    }
    memberships: dict[int, set[int]] = defaultdict(set)
    for person_id, class_id in session.execute(
        select(Membership.person_id, Membership.scope_id).where(
            Membership.role == Role.CLASS_TEACHER,
            Membership.scope_type == ScopeType.CLASS,
            Membership.scope_id.in_(class_ids),
        )
    ):
        memberships[class_id].add(person_id)
    return current_teacher, memberships


def _make_sole_class_teacher(session: Session, class_id: int, person_id: int, holders: set[int]) -> None:
    """Remove every other class-teacher membership of the class, and add this person's if missing."""
    session.execute(
        delete(Membership).where(
            Membership.role == Role.CLASS_TEACHER,
            Membership.scope_type == ScopeType.CLASS,
            Membership.scope_id == class_id,
            Membership.person_id != person_id,
        )
    )
    if person_id not in holders:
        session.add(
            Membership(
                person_id=person_id,
                role=Role.CLASS_TEACHER,
                scope_type=ScopeType.CLASS,
                scope_id=class_id,
            )
        )
