"""A second county next to the demo one, and objects (leave, absence, case, notice) for any pupil.

The authorization matrix and the concurrency tests need targets outside each demo role's scope:
another family's child, another class, another school, another region.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import (
    ChannelIdentity,
    Guardian,
    Membership,
    OutboxMessage,
    OutboxStatus,
    Person,
    Region,
    Role,
    School,
    SchoolClass,
    ScopeType,
    Stage,
    Student,
)
from db.models.attendance import (
    AttendanceRecord,
    CaseTrigger,
    DropoutCase,
    LeaveKind,
    LeaveRequest,
    LeaveStatus,
    Mark,
    MarkSource,
)
from db.models.broadcast import Audience, Broadcast, BroadcastScope, BroadcastStatus


@dataclass(frozen=True)
class Pupil:
    """One pupil and every object an action may name about them."""

    student_id: int
    class_id: int
    school_id: int
    region_id: int
    name: str
    guardian_id: int
    guardian_phone: str
    leave_id: int
    record_id: int
    case_id: int
    broadcast_id: int


def add_other_region(session: Session, now: datetime) -> int:
    """Region 'elsewhere' with one school, one class, a class teacher, principal, admin and one family."""
    region = Region(
        code="elsewhere", name="外县", timezone="Asia/Shanghai", aid_pack="linxia-2019", settings={}
    )
    session.add(region)
    session.flush()
    school = School(region_id=region.id, name="外县小学", stage=Stage.PRIMARY)
    session.add(school)
    session.flush()
    teacher = Person(name="外县老师", phone="13911112222", created_at=now)
    principal = Person(name="外县校长", phone="13911113333", created_at=now)
    admin = Person(name="外县局长", phone="13911114444", created_at=now)
    session.add_all([teacher, principal, admin])
    session.flush()
    klass = SchoolClass(school_id=school.id, grade=3, name="1班", class_teacher_id=teacher.id)
    session.add(klass)
    session.flush()
    session.add_all(
        [
            Membership(
                person_id=teacher.id, role=Role.CLASS_TEACHER, scope_type=ScopeType.CLASS, scope_id=klass.id
            ),
            Membership(
                person_id=principal.id, role=Role.PRINCIPAL, scope_type=ScopeType.SCHOOL, scope_id=school.id
            ),
            Membership(
                person_id=admin.id, role=Role.COUNTY_ADMIN, scope_type=ScopeType.REGION, scope_id=region.id
            ),
        ]
    )
    pupil = Student(
        school_id=school.id,
        class_id=klass.id,
        student_no="030101",
        name="外县学生甲",
        gender="女",
        boarding=False,
        household=["registered_poor"],
        active=True,
    )
    session.add(pupil)
    session.flush()
    parent = Person(name="外县家长", phone="13911115555", created_at=now)
    session.add(parent)
    session.flush()
    session.add(Guardian(person_id=parent.id, student_id=pupil.id, relation="母亲"))
    session.flush()
    return pupil.id


def equip(session: Session, student_id: int, day: date, now: datetime) -> Pupil:
    """Give a pupil a pending leave, an alerted absence, an open case and a notice to their class."""
    student = session.get(Student, student_id)
    assert student is not None and student.class_id is not None
    school = session.get(School, student.school_id)
    assert school is not None
    guardian = session.scalars(
        select(Person)
        .join(Guardian, Guardian.person_id == Person.id)
        .where(Guardian.student_id == student_id)
    ).first()
    assert guardian is not None
    klass = session.get(SchoolClass, student.class_id)
    assert klass is not None
    leave = LeaveRequest(
        student_id=student_id,
        requested_by=guardian.id,
        kind=LeaveKind.SICK,
        first_day=day,
        last_day=day,
        reason=None,
        status=LeaveStatus.PENDING,
        created_at=now,
    )
    # The absence is for the day before, so a leave for `day` does not clash with it.
    record = AttendanceRecord(
        student_id=student_id,
        class_id=student.class_id,
        school_id=student.school_id,
        day=date.fromordinal(day.toordinal() - 3),
        status=Mark.ABSENT,
        source=MarkSource.ROLLCALL,
        reported_by=klass.class_teacher_id,
        at=now,
        alerted_at=now,
    )
    case = DropoutCase(
        student_id=student_id,
        class_id=student.class_id,
        school_id=student.school_id,
        region_id=school.region_id,
        trigger=CaseTrigger.CONSECUTIVE,
        detail={},
        level=0,
        assignee_id=klass.class_teacher_id,
        opened_on=day,
        opened_at=now,
        last_activity_on=day,
    )
    notice = Broadcast(
        sender_person_id=klass.class_teacher_id,
        scope_type=BroadcastScope.CLASS,
        scope_id=student.class_id,
        grade=None,
        audience=Audience.BOTH,
        target=f"class:{student.class_id}/both",
        texts={"zh_Hans": "明天放假"},
        base_locale="zh_Hans",
        ack_required=True,
        scheduled_at=now,
        status=BroadcastStatus.ACTIVE,
        recipient_count=1,
        message_count=1,
        tz="Asia/Shanghai",
        created_at=now,
    )
    session.add_all([leave, record, case, notice])
    session.flush()
    # One message of the notice still waits (scheduled later), so cancelling it has something to stop.
    identity = ChannelIdentity(
        channel="console",
        external_id=f"person-{guardian.id}",
        person_id=guardian.id,
        active=True,
        failed_codes=0,
        last_buttons=[],
        created_at=now,
    )
    session.add(identity)
    session.flush()
    session.add(
        OutboxMessage(
            identity_id=identity.id,
            person_id=guardian.id,
            channel="console",
            kind="notice",
            text="明天放假",
            buttons=[],
            not_before=now + timedelta(days=1),
            status=OutboxStatus.QUEUED,
            attempts=0,
            ref_type="broadcast",
            ref_id=notice.id,
            created_at=now,
        )
    )
    session.flush()
    return Pupil(
        student_id=student_id,
        class_id=student.class_id,
        school_id=student.school_id,
        region_id=school.region_id,
        name=student.name,
        guardian_id=guardian.id,
        guardian_phone=guardian.phone or "",
        leave_id=leave.id,
        record_id=record.id,
        case_id=case.id,
        broadcast_id=notice.id,
    )
