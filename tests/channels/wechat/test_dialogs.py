"""Whole dialogs over WeChat: the same flows as on the console, answered with numbered replies."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from chatbot.app import App
from chatbot.attendance.close import close_day
from chatbot.delivery.worker import DeliveryConfig, Worker
from db.models import ChannelIdentity
from db.models.attendance import AttendanceRecord, GuardianAnswer, Mark, RollCall
from db.session import transaction
from tests.attendance.helpers import MONDAY, at, guardian_of, name_of, teacher_class
from tests.channels.wechat.conftest import TEMPLATES, Harness


def bind(
    app: App, openid: str, person_id: int, now: datetime, last_inbound_at: datetime | None = None
) -> None:
    with transaction(app.session_factory) as s:
        s.add(
            ChannelIdentity(
                channel="wechat",
                external_id=openid,
                person_id=person_id,
                active=True,
                failed_codes=0,
                last_buttons=[],
                created_at=now - timedelta(days=30),
                last_inbound_at=last_inbound_at,
            )
        )


def option(reply: str | None, containing: str) -> str:
    """The number shown before the option whose label contains `containing` ("回复 2：低保户" → "2")."""
    assert reply is not None
    found = re.findall(rf"^回复 (\d+)：[^\n]*{re.escape(containing)}", reply, flags=re.MULTILINE)
    assert len(found) == 1, (containing, reply)
    return str(found[0])


async def test_aid_dialog_by_numbered_replies(wechat: Harness, demo: Any, now: datetime) -> None:
    bind(wechat.app, "oParentAid", demo.parent, now)
    fake = await wechat.start(safe=True)
    children = await fake.say("oParentAid", "/aid")
    assert children is not None and option(children, "其他孩子") == "3"
    situation = await fake.say("oParentAid", "1")
    dibao = option(situation, "低保")
    ticked = await fake.say("oParentAid", dibao)
    assert ticked is not None
    lines = {line.split("：", 1)[0]: line.split("：", 1)[1] for line in ticked.splitlines() if "：" in line}
    assert "✓" in lines[f"回复 {dibao}"]
    done_label = lines[f"回复 {option(ticked, '选好')}"]
    result = await fake.say("oParentAid", done_label)  # the option's text works as well as its number
    assert result is not None and "625元" in result
    detail = await fake.say("oParentAid", option(result, "免学杂费"))
    assert detail is not None and "怎么申请" in detail


async def test_roll_call_over_wechat_and_the_absence_question_as_a_template(
    wechat: Harness, demo: Any
) -> None:
    """The teacher takes the roll on WeChat; after the cutoff the parent, silent for days, gets a template."""
    app = wechat.app
    _class_id, pupils = teacher_class(app, demo.teacher)
    absent = pupils[1]
    guardian = guardian_of(app, absent)
    wechat.now = at(MONDAY, 8)
    bind(app, "oTeacher", demo.teacher, wechat.now)
    bind(app, "oGuardian", guardian, wechat.now, last_inbound_at=wechat.now - timedelta(days=4))
    fake = await wechat.start(safe=True)

    listing = await fake.say("oTeacher", "/rollcall")
    assert listing is not None and f"回复 {len(pupils) + 1}：" in listing and "✅" in listing
    tapped = await fake.say("oTeacher", "2")
    assert tapped is not None
    [second_line] = [line for line in tapped.splitlines() if line.startswith("回复 2：")]
    assert second_line.endswith("❌")
    done = await fake.say("oTeacher", str(len(pupils) + 1))  # the last option: submit
    assert done is not None and str(len(pupils) - 1) in done
    with app.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(RollCall)) == 1
        assert dict(s.execute(select(AttendanceRecord.student_id, AttendanceRecord.status)).all()) == {
            absent: Mark.ABSENT
        }

    wechat.now = at(MONDAY, 10, 1)
    with transaction(app.session_factory) as s:
        close_day(s, MONDAY, wechat.now)
    worker = Worker(
        app.session_factory,
        [wechat.sender()],
        DeliveryConfig.from_settings(app.settings),
        clock=lambda: wechat.now,
    )
    await worker.drain()
    # The teacher wrote this morning: a customer-service message. The guardian has not: a template.
    to_teacher = [m for m in wechat.api.of("message/custom/send") if m["touser"] == "oTeacher"]
    assert to_teacher and name_of(app, absent) in to_teacher[0]["text"]["content"]
    [template] = [m for m in wechat.api.of("message/template/send") if m["touser"] == "oGuardian"]
    assert template["template_id"] == TEMPLATES["alert"]
    assert name_of(app, absent) in template["data"]["keyword1"]["value"]

    # The guardian opens the account and writes; the whole question follows, and "1" answers it.
    wechat.now = at(MONDAY, 10, 20)
    await fake.say("oGuardian", "你好")
    assert wechat.server is not None
    await wechat.server.drain()
    [question] = [m for m in wechat.api.of("message/custom/send") if m["touser"] == "oGuardian"]
    assert "回复 1：" in question["text"]["content"]
    answered = await fake.say("oGuardian", "1")
    assert answered is not None and "班主任" in answered
    with app.session_factory() as s:
        record = s.scalars(select(AttendanceRecord).where(AttendanceRecord.student_id == absent)).one()
        assert record.status == Mark.SICK and record.guardian_answer == GuardianAnswer.SICK
