"""`issue_school_invites` in bulk: a school of 1,001 families (more than two batches of 500), drawn codes
that collide with stored ones at the first, the 501st and the last place of a batch, earlier codes that
stop working (only the school's own, only unused and still valid ones), the exact rows written, the
audit row, how many statements it takes, and who counts as already linked with `unlinked_only`."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from chatbot.app import App
from chatbot.people import invites
from chatbot.people.invites import ALPHABET, InviteLine, hash_code, issue_school_invites
from db.models import (
    AuditLog,
    ChannelIdentity,
    Guardian,
    InviteCode,
    Person,
    Region,
    School,
    SchoolClass,
    Stage,
    Student,
)
from db.session import transaction

FAMILIES = 1001
WEEK = timedelta(days=7)


def code(i: int) -> str:
    """The i-th code of a fixed sequence: i written in base 27 with the code alphabet, 8 places."""
    out = []
    for _ in range(8):
        i, digit = divmod(i, len(ALPHABET))
        out.append(ALPHABET[digit])
    return "".join(reversed(out))


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """`new_code` hands out this list in order; the test fails if it is drawn more or less often."""
    script: list[str] = []

    def new_code() -> str:
        assert script, "new_code drawn more often than expected"
        return script.pop(0)

    monkeypatch.setattr(invites, "new_code", new_code)
    yield script
    assert script == [], "new_code drawn less often than expected"


class Statements:
    """Counts the statements the engine runs, by kind, while `counting` is on."""

    def __init__(self) -> None:
        self.counting = False
        self.seen: Counter[str] = Counter()

    def __call__(self, conn: Any, clause: Any, multiparams: Any, params: Any, options: Any) -> None:
        if not self.counting:
            return
        sql = " ".join(str(clause).split())
        if sql.startswith("SELECT invite_code.code_hash FROM invite_code WHERE invite_code.code_hash IN"):
            self.seen["hash lookup"] += 1
        elif sql.startswith("UPDATE invite_code"):
            self.seen["expire"] += 1
        elif sql.startswith("INSERT INTO invite_code"):
            self.seen["insert"] += 1


def _school(s: Session, name: str) -> tuple[School, SchoolClass]:
    region = s.scalars(select(Region)).first()
    if region is None:
        region = Region(code="north", name="北县", timezone="Asia/Shanghai")
        s.add(region)
        s.flush()
    school = School(region_id=region.id, name=name, stage=Stage.PRIMARY)
    s.add(school)
    s.flush()
    klass = SchoolClass(school_id=school.id, grade=2, name="1班")
    s.add(klass)
    s.flush()
    return school, klass


def _families(s: Session, school: School, klass: SchoolClass, count: int, now: datetime) -> list[int]:
    """`count` families, one child each, 学号 0000.. in order; returns the parents' ids in that order."""
    first = (s.scalars(select(Person.id).order_by(Person.id.desc())).first() or 0) + 1
    ids = list(range(first, first + count))
    s.execute(
        insert(Person), [{"id": pid, "name": f"家长{k:04d}", "created_at": now} for k, pid in enumerate(ids)]
    )
    first_student = (s.scalars(select(Student.id).order_by(Student.id.desc())).first() or 0) + 1
    students = list(range(first_student, first_student + count))
    s.execute(
        insert(Student),
        [
            {
                "id": sid,
                "school_id": school.id,
                "class_id": klass.id,
                "student_no": f"{k:04d}",
                "name": f"孩{k:04d}",
                "household": [],
                "active": True,
            }
            for k, sid in enumerate(students)
        ],
    )
    s.execute(
        insert(Guardian), [{"person_id": p, "student_id": st} for p, st in zip(ids, students, strict=True)]
    )
    return ids


def _invite_rows(s: Session) -> list[tuple[Any, ...]]:
    return [
        (i.code_hash, i.person_id, i.role, i.scope_type, i.scope_id, i.expires_at, i.created_at, i.used_at)
        for i in s.scalars(select(InviteCode).order_by(InviteCode.id))
    ]


def test_hash_is_the_salted_sha256_of_the_normalized_code() -> None:
    # Stored hashes must stay valid across versions: the salt and the normalization are fixed.
    digest = "65a73a1c81e175ccf2590782dde0327898694826a94f718f05e53a33e7457292"
    assert hashlib.sha256(b"jiaxiao-invite:K7MX4QPA").hexdigest() == digest
    assert hash_code("K7MX4QPA") == hash_code("k7mx-4qpa") == hash_code(" k7MX 4qpa ") == digest


def test_a_thousand_and_one_families_in_batches(empty_app: App, now: datetime, scripted: list[str]) -> None:
    later = now + timedelta(days=5)
    with transaction(empty_app.session_factory) as s:
        school, klass = _school(s, "大村小学")
        other, other_class = _school(s, "小村小学")
        parents = _families(s, school, klass, FAMILIES, now)
        (outsider,) = _families(s, other, other_class, 1, now)
        # Every parent already holds an unused, valid code; the outsider holds the codes the draw
        # collides with (at places 0, 500 and 1000 of the first batch): valid, used and expired.
        s.execute(
            insert(InviteCode),
            [
                {"code_hash": hash_code(code(100_000 + k)), "person_id": pid, "role": "guardian",
                 "scope_type": "school", "scope_id": school.id, "expires_at": later, "created_at": now}
                for k, pid in enumerate(parents)
            ],
        )  # fmt: skip
        s.add_all(
            [
                InviteCode(code_hash=hash_code(code(0)), person_id=outsider, role="guardian",
                           scope_type="school", scope_id=other.id, expires_at=later, created_at=now),
                InviteCode(code_hash=hash_code(code(500)), person_id=outsider, role="guardian",
                           scope_type="school", scope_id=other.id, expires_at=later, created_at=now,
                           used_at=now - timedelta(days=1)),
                InviteCode(code_hash=hash_code(code(1000)), person_id=outsider, role="guardian",
                           scope_type="school", scope_id=other.id, expires_at=now - timedelta(days=1),
                           created_at=now - timedelta(days=9)),
            ]
        )  # fmt: skip
        # A parent's code already used, and one that has already expired, keep their expiry.
        s.add_all(
            [
                InviteCode(code_hash=hash_code(code(200_000)), person_id=parents[0], role="guardian",
                           scope_type="school", scope_id=school.id, expires_at=later, created_at=now,
                           used_at=now - timedelta(hours=1)),
                InviteCode(code_hash=hash_code(code(200_001)), person_id=parents[-1], role="guardian",
                           scope_type="school", scope_id=school.id, expires_at=now - timedelta(hours=2),
                           created_at=now - timedelta(days=8)),
            ]
        )  # fmt: skip
        school_id = school.id
        before = _invite_rows(s)

    # The first batch draws 1001 codes; three collide; the second batch draws exactly three more.
    scripted.extend([code(i) for i in range(FAMILIES)] + [code(2000), code(2001), code(2002)])
    drawn = [code(i) for i in range(FAMILIES) if i not in {0, 500, 1000}] + [
        code(2000),
        code(2001),
        code(2002),
    ]

    statements = Statements()
    event.listen(empty_app.engine, "before_execute", statements)
    try:
        with transaction(empty_app.session_factory) as s:
            school_obj = s.get(School, school_id)
            assert school_obj is not None
            statements.counting = True
            lines = issue_school_invites(s, school_obj, "guardians", now, WEEK)
            statements.counting = False
    finally:
        event.remove(empty_app.engine, "before_execute", statements)

    assert statements.seen == Counter({"hash lookup": 4, "expire": 3, "insert": 3})
    assert lines == [
        InviteLine(f"家长{k:04d}", "guardian", "2年级1班", f"孩{k:04d}", drawn[k], now + WEEK)
        for k in range(FAMILIES)
    ]
    with empty_app.session_factory() as s:
        after = _invite_rows(s)
        audits = [
            (a.at, a.actor_person_id, a.action, a.target, a.details)
            for a in s.scalars(select(AuditLog).order_by(AuditLog.id))
        ]
    # Every parent's earlier unused, valid code now ends at `now`; everything else is untouched.
    expired_before = [
        (h, pid, role, st, sid, now if pid in set(parents) and exp > now and used is None else exp, cr, used)
        for h, pid, role, st, sid, exp, cr, used in before
    ]
    assert after[: len(before)] == expired_before
    assert sum(1 for row in expired_before if row[5] == now) == FAMILIES
    assert after[len(before) :] == [
        (hash_code(drawn[k]), pid, "guardian", "school", school_id, now + WEEK, now, None)
        for k, pid in enumerate(parents)
    ]
    assert audits == [
        (now, None, "invites.export", f"school:{school_id}",
         {"role": "guardians", "count": FAMILIES, "unlinked_only": False}),
    ]  # fmt: skip


def test_who_counts_as_linked(empty_app: App, now: datetime) -> None:
    with transaction(empty_app.session_factory) as s:
        school, klass = _school(s, "向阳小学")
        active, inactive, unlinked = _families(s, school, klass, 3, now)
        s.add_all(
            [
                ChannelIdentity(channel="telegram", external_id="1", person_id=active, active=True, created_at=now),
                # A chat that was unlinked (forgotten) no longer counts as using the bot.
                ChannelIdentity(channel="telegram", external_id="2", person_id=inactive, active=False, created_at=now),
                ChannelIdentity(channel="telegram", external_id="3", person_id=None, active=True, created_at=now),
            ]
        )  # fmt: skip
        school_id = school.id
    with transaction(empty_app.session_factory) as s:
        school_obj = s.get(School, school_id)
        assert school_obj is not None
        only_unlinked = issue_school_invites(s, school_obj, "guardians", now, WEEK, unlinked_only=True)
    assert [(line.name, line.child) for line in only_unlinked] == [
        ("家长0001", "孩0001"),
        ("家长0002", "孩0002"),
    ]
    # Without the flag (its default) everyone gets a new code, the linked parent too.
    with transaction(empty_app.session_factory) as s:
        school_obj = s.get(School, school_id)
        assert school_obj is not None
        everyone = issue_school_invites(s, school_obj, "guardians", now, WEEK)
    assert [(line.name, line.child) for line in everyone] == [
        ("家长0000", "孩0000"),
        ("家长0001", "孩0001"),
        ("家长0002", "孩0002"),
    ]
    with empty_app.session_factory() as s:
        rows = _invite_rows(s)
        details = [a.details for a in s.scalars(select(AuditLog).order_by(AuditLog.id))]
    first = [line.code for line in only_unlinked]
    second = [line.code for line in everyone]
    assert rows == [
        (hash_code(first[0]), inactive, "guardian", "school", school_id, now, now, None),
        (hash_code(first[1]), unlinked, "guardian", "school", school_id, now, now, None),
        (hash_code(second[0]), active, "guardian", "school", school_id, now + WEEK, now, None),
        (hash_code(second[1]), inactive, "guardian", "school", school_id, now + WEEK, now, None),
        (hash_code(second[2]), unlinked, "guardian", "school", school_id, now + WEEK, now, None),
    ]
    assert details == [
        {"role": "guardians", "count": 2, "unlinked_only": True},
        {"role": "guardians", "count": 3, "unlinked_only": False},
    ]
