"""Opening cases at county scale: more classes than one IN list holds (900) and more cases than one
insert batch (1,000), so every chunked read and batched write is seen to count each row once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Table, func, insert, select

from chatbot.app import App
from chatbot.attendance.cases import SchoolRow, open_cases
from db.models import Region, School, SchoolClass, Student
from db.models.attendance import (
    AttendanceRecord,
    CaseEvent,
    CaseEventKind,
    DropoutCase,
    Mark,
    MarkSource,
    RollCall,
)
from db.session import transaction
from tests.attendance.helpers import MONDAY, at

D = MONDAY
YESTERDAY = D - timedelta(days=1)
CLASSES = 1002  # one pupil each: 1,001 absent two days running, the last one only today


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


def test_a_county_wide_close_opens_exactly_one_case_per_pupil_over_chunk_and_batch_limits(
    empty_app: App,
) -> None:
    with transaction(empty_app.session_factory) as s:
        region = Region(code="big", name="大县", timezone="Asia/Shanghai", settings={})
        s.add(region)
        s.flush()
        school = School(region_id=region.id, name="大学校")
        s.add(school)
        s.flush()
        region_id, school_id = region.id, school.id
        s.execute(
            insert(_table(SchoolClass)),
            [
                {"school_id": school_id, "grade": 1, "name": f"{n}班", "class_teacher_id": None}
                for n in range(CLASSES)
            ],
        )
        class_ids = list(s.scalars(select(SchoolClass.id).order_by(SchoolClass.id)))
        s.execute(
            insert(_table(Student)),
            [
                {
                    "school_id": school_id,
                    "class_id": class_id,
                    "student_no": f"{n:05d}",
                    "name": f"pupil {n}",
                    "boarding": False,
                    "household": [],
                    "active": True,
                }
                for n, class_id in enumerate(class_ids)
            ],
        )
        students = list(s.execute(select(Student.id, Student.class_id).order_by(Student.id)))
        s.execute(
            insert(_table(RollCall)),
            [
                {
                    "class_id": class_id,
                    "school_id": school_id,
                    "day": day,
                    "submitted_at": at(day, 8),
                    "after_cutoff": False,
                }
                for day in (YESTERDAY, D)
                for class_id in class_ids
            ],
        )
        records = [
            (student_id, class_id, day)
            for n, (student_id, class_id) in enumerate(students)
            for day in ((YESTERDAY, D) if n < CLASSES - 1 else (D,))
        ]
        s.execute(
            insert(_table(AttendanceRecord)),
            [
                {
                    "student_id": student_id,
                    "class_id": class_id,
                    "school_id": school_id,
                    "day": day,
                    "status": Mark.ABSENT,
                    "source": MarkSource.ROLLCALL,
                    "at": at(day, 8),
                    "alerted_at": at(day, 10, 30) if day < D else None,
                }
                for student_id, class_id, day in records
            ],
        )

    row = SchoolRow(school_id, region_id, "Asia/Shanghai", {"attendance": {"consecutive_days": 2}})
    now = at(D, 10, 30)
    with transaction(empty_app.session_factory) as s:
        assert open_cases(s, [row], D, now, every_school=True) == []  # no class has a teacher to tell

    with empty_app.session_factory() as s:
        opened = list(s.execute(select(DropoutCase.student_id, DropoutCase.class_id, DropoutCase.detail)))
        assert sorted(opened) == sorted(
            (student_id, class_id, {"days": 2}) for student_id, class_id in students[: CLASSES - 1]
        )
        assert (
            s.scalar(
                select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == CaseEventKind.OPENED)
            )
            == CLASSES - 1
        )
