"""Single-use, expiring invite codes, stored only as hashes, with a lockout on guessing."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from chatbot.i18n import _
from db.models import (
    AuditLog,
    ChannelIdentity,
    Guardian,
    InviteCode,
    Membership,
    Person,
    School,
    SchoolClass,
    ScopeType,
    Student,
)

# No 0/O, 1/I/L, 2/Z or 5/S: codes are read aloud and typed on cheap phones.
ALPHABET = "ABCDEFGHJKMNPQRTUVWXY346789"
CODE_LENGTH = 8
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(hours=1)
LOCKOUT = timedelta(hours=1)
# Bulk statements go in chunks of this many rows, so no IN list or insert grows with the school.
BATCH = 500


def normalize_code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


def looks_like_code(text: str) -> bool:
    code = normalize_code(text)
    return len(code) == CODE_LENGTH and all(ch in ALPHABET for ch in code) and len(text.strip()) <= 12


def hash_code(code: str) -> str:
    return hashlib.sha256(("jiaxiao-invite:" + normalize_code(code)).encode()).hexdigest()


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def issue_code(
    session: Session,
    person: Person,
    *,
    role: str,
    scope_type: str | None,
    scope_id: int | None,
    now: datetime,
    valid_for: timedelta,
) -> str:
    """Create a code for `person`; only its hash is stored, so the caller must hand it out now."""
    while True:
        code = new_code()
        digest = hash_code(code)
        if session.scalars(select(InviteCode.id).where(InviteCode.code_hash == digest)).first() is None:
            break
    session.add(
        InviteCode(
            code_hash=digest,
            person_id=person.id,
            role=role,
            scope_type=scope_type,
            scope_id=scope_id,
            expires_at=now + valid_for,
            created_at=now,
        )
    )
    return code


class RedeemResult:
    OK = "ok"
    WRONG = "wrong"
    USED = "used"
    EXPIRED = "expired"
    LOCKED = "locked"


@dataclass(frozen=True)
class Redeemed:
    result: str
    person: Person | None = None
    locked_until: datetime | None = None


def is_locked(identity: ChannelIdentity, now: datetime) -> bool:
    return identity.locked_until is not None and identity.locked_until > now


def redeem(session: Session, identity: ChannelIdentity, text: str, now: datetime) -> Redeemed:
    """Bind the identity to the code's person, or count a failure towards the lockout."""
    if is_locked(identity, now):
        return Redeemed(RedeemResult.LOCKED, locked_until=identity.locked_until)
    invite = session.scalars(
        select(InviteCode).where(InviteCode.code_hash == hash_code(text)).with_for_update()
    ).one_or_none()
    if invite is None:
        return _fail(identity, now, RedeemResult.WRONG)
    if invite.used_at is not None:
        return _fail(identity, now, RedeemResult.USED)
    if invite.expires_at <= now:
        return _fail(identity, now, RedeemResult.EXPIRED)
    invite.used_at = now
    invite.used_by_identity_id = identity.id
    person = session.get(Person, invite.person_id)
    identity.person_id = invite.person_id
    identity.person = person
    identity.failed_codes = 0
    identity.failed_window_start = None
    identity.locked_until = None
    return Redeemed(RedeemResult.OK, person=person)


def _fail(identity: ChannelIdentity, now: datetime, result: str) -> Redeemed:
    if identity.failed_window_start is None or now - identity.failed_window_start > FAILURE_WINDOW:
        identity.failed_window_start = now
        identity.failed_codes = 0
    identity.failed_codes += 1
    if identity.failed_codes >= MAX_FAILURES:
        identity.locked_until = now + LOCKOUT
        identity.failed_codes = 0
        identity.failed_window_start = None
        return Redeemed(RedeemResult.LOCKED, locked_until=identity.locked_until)
    return Redeemed(result)


@dataclass(frozen=True)
class InviteLine:
    """One row of the operator's invite sheet; `code` exists in clear only here."""

    name: str
    role: str
    klass: str
    child: str
    code: str
    expires_at: datetime


INVITE_ROLES = ("guardians", "teachers", "all")


def school_invitees(session: Session, school: School, which: str) -> list[tuple[int, str, str, str, str]]:
    """(person id, name, role, class label, children) for the school's guardians and/or staff."""
    out: list[tuple[int, str, str, str, str]] = []
    classes = {
        c.id: c for c in session.scalars(select(SchoolClass).where(SchoolClass.school_id == school.id))
    }
    if which in {"teachers", "all"}:
        query = (
            select(
                Membership.person_id, Person.name, Membership.role, Membership.scope_type, Membership.scope_id
            )
            .join(Person, Person.id == Membership.person_id)
            .where(
                ((Membership.scope_type == ScopeType.CLASS) & Membership.scope_id.in_(list(classes)))
                | ((Membership.scope_type == ScopeType.SCHOOL) & (Membership.scope_id == school.id))
            )
            .order_by(Membership.person_id, Membership.role)
        )
        staff: dict[tuple[int, str], list[str]] = {}
        names: dict[int, str] = {}
        for person_id, name, role, scope_type, scope_id in session.execute(query):
            names[person_id] = name
            labels = staff.setdefault((person_id, role.value), [])
            if scope_type == ScopeType.CLASS:
                labels.append(class_label(classes[scope_id]))
        out.extend((pid, names[pid], role, "、".join(labels), "") for (pid, role), labels in staff.items())
    if which in {"guardians", "all"}:
        query2 = (
            select(Guardian.person_id, Person.name, Student.name, Student.class_id)
            .join(Person, Person.id == Guardian.person_id)
            .join(Student, Student.id == Guardian.student_id)
            .where(Student.school_id == school.id, Student.active.is_(True))
            .order_by(Student.class_id, Student.student_no)
        )
        families: dict[int, tuple[str, list[str], list[str]]] = {}
        for person_id, name, child, class_id in session.execute(query2):
            _name, children, labels = families.setdefault(person_id, (name, [], []))
            children.append(child)
            label = class_label(classes[class_id])
            if label not in labels:
                labels.append(label)
        out.extend(
            (pid, name, "guardian", "、".join(labels), "、".join(children))
            for pid, (name, children, labels) in families.items()
        )
    return out


def class_label(klass: SchoolClass) -> str:
    return _("Grade {grade} {name}").format(grade=klass.grade, name=klass.name)


class Invitee(NamedTuple):
    """One row of `school_invitees`: who gets a code, as what, for which classes and children."""

    person_id: int
    name: str
    role: str
    klass: str
    children: str


def issue_school_invites(
    session: Session,
    school: School,
    which: str,
    now: datetime,
    valid_for: timedelta,
    unlinked_only: bool = False,
) -> list[InviteLine]:
    """New codes for everyone in the school (earlier unused codes of theirs stop working), in bulk.

    With `unlinked_only`, people who already use the bot on some channel are left out.
    """
    invitees = _invitees(session, school, which, unlinked_only)
    if not invitees:
        return []
    _expire_unused(session, sorted({invitee.person_id for invitee in invitees}), now)
    codes = _unused_codes(session, len(invitees))
    expires = now + valid_for
    rows = _code_rows(school, list(zip(codes, invitees, strict=True)), expires, now)
    for start in range(0, len(rows), BATCH):
        session.execute(insert(InviteCode), rows[start : start + BATCH])
    session.add(_export_audit(school, which, len(rows), unlinked_only, now))
    return [
        InviteLine(invitee.name, invitee.role, invitee.klass, invitee.children, code, expires)
        for code, invitee in zip(codes, invitees, strict=True)
    ]


def _invitees(session: Session, school: School, which: str, unlinked_only: bool) -> list[Invitee]:
    """The school's invitees, less those already on some channel when `unlinked_only`."""
    invitees = [Invitee(*row) for row in school_invitees(session, school, which)]
    if not (unlinked_only and invitees):
        return invitees
    linked = set(
        session.scalars(
            select(ChannelIdentity.person_id).where(
                ChannelIdentity.person_id.is_not(None), ChannelIdentity.active.is_(True)
            )
        )
    )
    return [invitee for invitee in invitees if invitee.person_id not in linked]


def _expire_unused(session: Session, person_ids: list[int], now: datetime) -> None:
    """End the unused, unexpired codes these people already hold."""
    for start in range(0, len(person_ids), BATCH):
        session.execute(
            update(InviteCode)
            .where(
                InviteCode.person_id.in_(person_ids[start : start + BATCH]),
                InviteCode.used_at.is_(None),
                InviteCode.expires_at > now,
            )
            .values(expires_at=now)
        )


def _code_rows(
    school: School, issued: list[tuple[str, Invitee]], expires: datetime, now: datetime
) -> list[dict[str, Any]]:
    """The invite_code rows to insert, one per (code, invitee), storing only the code's hash."""
    return [
        {
            "code_hash": hash_code(code),
            "person_id": invitee.person_id,
            "role": invitee.role,
            "scope_type": ScopeType.SCHOOL.value,
            "scope_id": school.id,
            "expires_at": expires,
            "created_at": now,
        }
        for code, invitee in issued
    ]


def _export_audit(school: School, which: str, count: int, unlinked_only: bool, now: datetime) -> AuditLog:
    """The audit row of one bulk issue."""
    return AuditLog(
        at=now,
        actor_person_id=None,
        action="invites.export",
        target=f"school:{school.id}",
        details={"role": which, "count": count, "unlinked_only": unlinked_only},
    )


def _unused_codes(session: Session, count: int) -> list[str]:
    """`count` fresh codes whose hashes collide with nothing stored (checked set-based)."""
    codes: dict[str, str] = {}
    while len(codes) < count:
        batch = {hash_code(code): code for code in (new_code() for _ in range(count - len(codes)))}
        batch = {h: c for h, c in batch.items() if h not in codes}
        taken: set[str] = set()
        hashes = list(batch)
        for start in range(0, len(hashes), BATCH):
            taken.update(
                session.scalars(
                    select(InviteCode.code_hash).where(
                        InviteCode.code_hash.in_(hashes[start : start + BATCH])
                    )
                )
            )
        codes.update({h: c for h, c in batch.items() if h not in taken})
    return list(codes.values())
