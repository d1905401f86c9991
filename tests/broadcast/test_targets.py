"""Who a target addresses (chatbot/broadcast/targets.py): the staff of a school or region, and audiences."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from chatbot.app import App
from chatbot.broadcast.service import NoticeDraft, create_broadcast
from chatbot.broadcast.targets import NoticeTarget
from db.models import Person
from db.models.broadcast import Audience, BroadcastRecipient, BroadcastScope
from db.session import transaction

RED_STAR_STAFF = {
    "张校长": "teacher",
    "李芳": "teacher",
    "吴洋鹏": "teacher",
    "赵秀": "teacher",
    "高然诺": "teacher",
}
DONGXIANG_STAFF = {"赵霞思校长": "teacher", "潘雨远": "teacher", "蔡强杰": "teacher", "刘兰鹏": "teacher"}


def recipients_of(app: App, sender_id: int, target: NoticeTarget, now: datetime) -> dict[str, str]:
    """Create the notice as the sender; name → role of every recipient row it stored."""
    with transaction(app.session_factory) as s:
        sender = s.get(Person, sender_id)
        assert sender is not None
        draft = NoticeDraft(target, {"zh_Hans": "教师会议"})
        notice = create_broadcast(s, sender, draft, now=now, settings=app.settings).id
    with app.session_factory() as s:
        rows = s.execute(
            select(Person.name, BroadcastRecipient.role)
            .join(BroadcastRecipient, BroadcastRecipient.person_id == Person.id)
            .where(BroadcastRecipient.broadcast_id == notice)
        ).all()
    return dict(rows)  # type: ignore[arg-type]


def test_a_school_notice_to_teachers_reaches_its_own_principal_not_another_schools(
    app: App,
    demo,
    now: datetime,  # type: ignore[no-untyped-def]
) -> None:
    red_star = NoticeTarget(BroadcastScope.SCHOOL, 1, Audience.TEACHERS)
    assert recipients_of(app, demo.admin, red_star, now) == RED_STAR_STAFF


def test_a_region_notice_to_teachers_reaches_every_principal_and_class_teacher_in_it(
    app: App,
    demo,
    now: datetime,  # type: ignore[no-untyped-def]
) -> None:
    county = NoticeTarget(BroadcastScope.REGION, 1, Audience.TEACHERS)
    assert recipients_of(app, demo.admin, county, now) == RED_STAR_STAFF | DONGXIANG_STAFF


@pytest.mark.parametrize(
    "target",
    [
        NoticeTarget(BroadcastScope.REGION, 1),
        NoticeTarget(BroadcastScope.SCHOOL, 3, Audience.TEACHERS),
        NoticeTarget(BroadcastScope.GRADE, 3, Audience.BOTH, 7),
        NoticeTarget(BroadcastScope.CLASS, 5, Audience.PARENTS),
    ],
)
@pytest.mark.parametrize("audience", list(Audience))
def test_changing_the_audience_keeps_the_place(target: NoticeTarget, audience: Audience) -> None:
    changed = target.with_audience(audience)
    assert (changed.scope, changed.scope_id, changed.audience, changed.grade) == (
        target.scope,
        target.scope_id,
        audience,
        target.grade,
    )
    assert changed == NoticeTarget(target.scope, target.scope_id, audience, target.grade)
