"""Single-use, expiring invite codes, stored only as hashes, with a lockout on guessing."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import ChannelIdentity, InviteCode, Person

# No 0/O, 1/I/L, 2/Z or 5/S: codes are read aloud and typed on cheap phones.
ALPHABET = "ABCDEFGHJKMNPQRTUVWXY346789"
CODE_LENGTH = 8
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(hours=1)
LOCKOUT = timedelta(hours=1)


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
