"""Button payloads of the attendance domain. Every handler re-authorizes what they name."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from chatbot.core.payloads import Payload
from db.models.attendance import NotDropoutReason


class LeaveDays(StrEnum):
    """The days offered for a leave request; OTHER asks for typed dates."""

    TODAY = "today"
    TOMORROW = "tomorrow"
    TWO = "two"  # today and tomorrow
    OTHER = "other"


class CaseActKind(StrEnum):
    """What a case button logs; the values are those of the CaseEventKind each one records."""

    CONTACTED = "contacted"
    HOME_VISIT = "home_visit"
    RETURNED = "returned"
    NOT_DROPOUT = "not_dropout"
    DROPOUT_REPORTED = "dropout_reported"


@dataclass(frozen=True)
class RollPick(Payload, prefix="rck"):
    class_id: int


@dataclass(frozen=True)
class RollTap(Payload, prefix="rct"):
    class_id: int
    student_id: int


@dataclass(frozen=True)
class RollPage(Payload, prefix="rcp"):
    class_id: int
    page: int


@dataclass(frozen=True)
class RollSubmit(Payload, prefix="rcs"):
    class_id: int


@dataclass(frozen=True)
class QuickPick(Payload, prefix="rcq"):
    class_id: int


@dataclass(frozen=True)
class QuickWho(Payload, prefix="rcw"):
    class_id: int
    student_id: int


@dataclass(frozen=True)
class LeaveChild(Payload, prefix="lvk"):
    student_id: int


@dataclass(frozen=True)
class LeaveSpan(Payload, prefix="lvs"):
    span: LeaveDays


@dataclass(frozen=True)
class LeaveType(Payload, prefix="lvt"):
    # A LeaveKind value. Text, not the Enum: any other word (an old button) asks again for a button
    # instead of being refused as malformed.
    kind: str


@dataclass(frozen=True)
class LeaveNoReason(Payload, prefix="lvn"):
    skip: bool


@dataclass(frozen=True)
class LeaveDecide(Payload, prefix="lva"):
    leave_id: int
    approve: bool


@dataclass(frozen=True)
class AbsenceAnswer(Payload, prefix="aba"):
    record_id: int
    # A GuardianAnswer value. Text, not the Enum: an unknown answer is refused by its action in the
    # attendance domain's wording, and tests/core/test_payloads.py packs free text into this field.
    answer: str


@dataclass(frozen=True)
class ContactGuardian(Payload, prefix="abc"):
    student_id: int
    guardian_id: int


@dataclass(frozen=True)
class CaseOpen(Payload, prefix="cso"):
    case_id: int


@dataclass(frozen=True)
class CaseAct(Payload, prefix="csa"):
    case_id: int
    act: CaseActKind


@dataclass(frozen=True)
class CaseReason(Payload, prefix="csr"):
    case_id: int
    reason: NotDropoutReason


@dataclass(frozen=True)
class ReportScope(Payload, prefix="rps"):
    # "school" or "region". Text, not an Enum: a forged kind is denied (and the dialog closed) like a
    # scope the person may not report on, rather than refused as a malformed button.
    kind: str
    scope_id: int


@dataclass(frozen=True)
class ReportPeriod(Payload, prefix="rpp"):
    days: int
