"""Button payloads of the attendance domain. Every handler re-authorizes what they name."""

from __future__ import annotations

from dataclasses import dataclass

from chatbot.core.payloads import Payload


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
    span: str  # today | tomorrow | two | other


@dataclass(frozen=True)
class LeaveType(Payload, prefix="lvt"):
    kind: str  # sick | personal


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
    answer: str  # a GuardianAnswer value


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
    act: str  # contacted | home_visit | returned | not_dropout | dropout_reported


@dataclass(frozen=True)
class CaseReason(Payload, prefix="csr"):
    case_id: int
    reason: str  # a NotDropoutReason value


@dataclass(frozen=True)
class ReportScope(Payload, prefix="rps"):
    kind: str  # school | region
    scope_id: int


@dataclass(frozen=True)
class ReportPeriod(Payload, prefix="rpp"):
    days: int
