"""People orderings whose tie-breaker only PostgreSQL can show.

On SQLite rows come back in rowid order, so a dropped ORDER BY column goes unnoticed. On PostgreSQL a
row whose indexed column is updated (away and back, in two transactions: not a HOT update) is written
anew behind the others; each test moves the row that should come first this way, then checks the order
the real code path gives: a guardian's children in /whoami, and the demo person of a name.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select

from chatbot.app import App
from chatbot.channels.console import ConsoleChannel
from chatbot.people.demo import DEMO_PARENT_NAME, demo_person
from db.models import Guardian, Person
from db.session import transaction
from tests.conftest import DemoPeople
from tests.storage_order import move_behind


def test_whoami_lists_a_guardians_children_by_id_after_the_first_is_rewritten(
    app: App, console: ConsoleChannel, demo: DemoPeople
) -> None:
    with app.session_factory() as s:
        first = min(s.scalars(select(Guardian.student_id).where(Guardian.person_id == demo.parent)))
    move_behind(app, "student", first, "student_no", "MOVED-AWAY")
    assert [r.text for r in console.send(demo.parent, "/whoami")] == [
        "您已绑定为 王建国。\n"
        "• 潘佳涵 的家长（红星小学 3年级1班）\n"
        "• 郭轩 的家长（东乡第一初级中学 7年级1班）\n"
        "语言：简体中文"
    ]


def test_the_demo_person_of_a_name_is_the_first_created_after_it_is_rewritten(
    app: App, demo: DemoPeople, now: datetime
) -> None:
    with transaction(app.session_factory) as s:
        s.execute(insert(Person), [{"name": DEMO_PARENT_NAME, "phone": "13900009999", "created_at": now}])
    move_behind(app, "person", demo.parent, "phone", "13900009998")
    with app.session_factory() as s:
        found = demo_person(s, "parent")
        assert found is not None and found.id == demo.parent
