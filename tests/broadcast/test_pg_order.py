"""Notice orderings whose tie-breaker only PostgreSQL can show.

On SQLite rows come back in rowid order, so a dropped ORDER BY column goes unnoticed. On PostgreSQL a
row whose indexed column is updated (away and back, in two transactions: not a HOT update) is written
anew behind the others; each test moves the row that should come first this way, then checks the order
the service gives: the not-confirmed list of two parents of one name, the outbox rows of a notice, and the
schools and grades offered as notice targets.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from chatbot.app import App
from chatbot.broadcast.service import not_acknowledged
from chatbot.broadcast.targets import NoticeTarget, choosable_targets
from chatbot.i18n import use_locale
from db.models import Guardian, Person, Student
from db.models.broadcast import Broadcast, BroadcastScope
from db.models.delivery import OutboxMessage
from db.session import transaction
from tests.broadcast.bc_service_helpers import add_account, notify
from tests.conftest import DemoPeople
from tests.storage_order import move_behind

CLASS_1 = NoticeTarget(BroadcastScope.CLASS, 1)


def class_1_parents(app: App) -> list[int]:
    with app.session_factory() as s:
        query = select(Guardian.person_id).join(Student).where(Student.class_id == 1).distinct()
        return sorted(s.scalars(query))


def test_parents_of_one_name_stay_in_id_order_in_the_not_confirmed_list(
    app: App, demo: DemoPeople, now: datetime
) -> None:
    first, second = class_1_parents(app)[:2]
    with transaction(app.session_factory) as s:
        for pid in (first, second):
            found = s.get(Person, pid)
            assert found is not None
            found.name = "AAA Same"
    add_account(app, first, now)  # only the first has a chat account: the two lines differ
    broadcast_id = notify(app, demo.teacher, CLASS_1, {"zh_Hans": "明天家长会"}, now, ack=True)
    move_behind(app, "person", first, "phone", "13900009998")
    with app.session_factory() as s, use_locale("en"):
        broadcast = s.get(Broadcast, broadcast_id)
        assert broadcast is not None
        names, count = not_acknowledged(s, broadcast, limit=2)
    assert names == ["AAA Same", "AAA Same (no chat account)"]
    assert count == len(class_1_parents(app))


def test_a_notice_queues_its_messages_in_chat_account_order(
    app: App, demo: DemoPeople, now: datetime
) -> None:
    # Accounts opened in the reverse order of the people: the order of people is not the order wanted.
    parents = class_1_parents(app)[:4][::-1]
    accounts = [add_account(app, pid, now) for pid in parents]
    move_behind(app, "channel_identity", accounts[0], "external_id", "moved-away")
    broadcast_id = notify(app, demo.teacher, CLASS_1, {"zh_Hans": "明天家长会"}, now)
    with app.session_factory() as s:
        queued = s.execute(
            select(OutboxMessage.identity_id, OutboxMessage.person_id)
            .where(OutboxMessage.ref_id == broadcast_id)
            .order_by(OutboxMessage.id)
        ).all()
    assert [tuple(row) for row in queued] == list(zip(accounts, parents, strict=True))


def test_the_schools_offered_to_the_county_admin_come_in_id_order(app: App, demo: DemoPeople) -> None:
    move_behind(app, "school", 1, "name", "moved-away")
    with app.session_factory() as s:
        targets = choosable_targets(s, s.get(Person, demo.admin))
    assert [(t.scope, t.scope_id) for t in targets] == [
        (BroadcastScope.REGION, 1),
        (BroadcastScope.SCHOOL, 1),
        (BroadcastScope.SCHOOL, 2),
    ]


def test_the_grades_offered_to_a_principal_come_in_order(app: App, demo: DemoPeople) -> None:
    move_behind(app, "school_class", 1, "grade", 99)
    with app.session_factory() as s:
        targets = choosable_targets(s, s.get(Person, demo.principal))
    assert [(t.scope, t.scope_id, t.grade) for t in targets] == [
        (BroadcastScope.SCHOOL, 1, None),
        (BroadcastScope.GRADE, 1, 3),
        (BroadcastScope.GRADE, 1, 4),
        (BroadcastScope.GRADE, 1, 5),
        (BroadcastScope.GRADE, 1, 6),
    ]
