"""The callback endpoint end to end: real signed (and AES-encrypted) XML posted to the running server."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from wechatpy.utils import WeChatSigner

from chatbot.app import App
from chatbot.core.messages import Attachment, ChannelCaps, Incoming, Reply
from chatbot.people.invites import issue_code
from db.models import ChannelIdentity, Person, ProcessedUpdate
from db.session import transaction
from tests.channels.wechat.conftest import Harness
from tests.channels.wechat.fakes import TOKEN, FakeWeChatServer

OPENID = "oParent0000000000000000000001"


def identity(app: App, openid: str = OPENID) -> ChannelIdentity | None:
    with app.session_factory() as s:
        return s.scalars(
            select(ChannelIdentity).where(
                ChannelIdentity.channel == "wechat", ChannelIdentity.external_id == openid
            )
        ).one_or_none()


def processed_count(app: App) -> int:
    with app.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(ProcessedUpdate)) or 0)


async def test_url_handshake_echoes_only_when_signed_with_our_token(wechat: Harness) -> None:
    fake = await wechat.start(safe=True)
    assert fake.http is not None
    signer = WeChatSigner()
    signer.add_data(TOKEN, "1795000000", "abc")
    good = {"signature": signer.signature, "timestamp": "1795000000", "nonce": "abc", "echostr": "hello-123"}
    async with fake.http.get(fake.url, params=good) as response:
        assert (response.status, await response.text()) == (200, "hello-123")
    forged = {**good, "signature": "f" * 40}
    async with fake.http.get(fake.url, params=forged) as response:
        assert response.status == 403
    async with fake.http.get(fake.url, params={"echostr": "x"}) as response:
        assert response.status == 403


@pytest.mark.parametrize("safe", [False, True], ids=["plaintext", "safe-mode"])
async def test_forged_signature_is_refused_and_nothing_is_processed(wechat: Harness, safe: bool) -> None:
    fake = await wechat.start(safe=safe)
    status, _body = await fake.post(fake.text_xml(OPENID, "/help"), forge=True)
    assert status == 403
    assert identity(wechat.app) is None
    assert processed_count(wechat.app) == 0


async def test_a_callback_signed_long_ago_is_refused(wechat: Harness) -> None:
    fake = await wechat.start(safe=True)
    status, _body = await fake.post(fake.text_xml(OPENID, "/help"), age=2 * 86400)
    assert status == 403
    assert identity(wechat.app) is None
    status, _body = await fake.post(fake.text_xml(OPENID, "/help"), age=60)
    assert status == 200


async def test_plaintext_callback_is_refused_when_safe_mode_is_configured(wechat: Harness) -> None:
    fake = await wechat.start(safe=True)
    fake.safe = False  # a correctly signed but unencrypted body: not what WeChat sends in safe mode
    status, _body = await fake.post(fake.text_xml(OPENID, "/help"))
    assert status == 403
    assert identity(wechat.app) is None


async def test_oversized_and_malformed_bodies_are_refused(wechat: Harness) -> None:
    fake = await wechat.start(safe=False)
    status, _body = await fake.post(fake.text_xml(OPENID, "很长" * 40_000))
    assert status == 413
    for malformed in ("<xml><unclosed>", "", "<xml><MsgType>text</MsgType><MsgId>abc</MsgId></xml>"):
        status, _body = await fake.post(malformed)
        assert status == 400, malformed
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>'
    status, _body = await fake.post(bomb)
    assert status == 400
    assert identity(wechat.app) is None


async def test_language_by_numbered_replies_in_safe_mode(wechat: Harness) -> None:
    fake = await wechat.start(safe=True)
    reply = await fake.say(OPENID, "/language")
    assert reply is not None
    assert "回复 1：简体中文" in reply
    assert "回复 3：English" in reply
    assert await fake.say(OPENID, "3") == "Language set to English."
    reply = await fake.say(OPENID, "/language")
    assert reply is not None and "Reply 2: 繁體中文" in reply
    assert await fake.say(OPENID, "繁體中文") == "語言已設為 繁體中文。"
    found = identity(wechat.app)
    assert found is not None and found.locale == "zh_Hant"


async def test_a_replayed_message_is_processed_once(wechat: Harness) -> None:
    fake = await wechat.start(safe=False)
    await fake.say(OPENID, "/start")
    xml = fake.text_xml(OPENID, "KKKKKKKK")  # looks like an invite code but is wrong: counts a failure
    first = fake.open_reply(*await fake.post(xml))
    second = fake.open_reply(*await fake.post(xml))
    assert first is not None and "不正确" in first
    assert second == first
    found = identity(wechat.app)
    assert found is not None and found.failed_codes == 1
    assert processed_count(wechat.app) == 2


async def test_binding_by_invite_code_then_help_for_the_parent(
    wechat: Harness, demo: Any, now: datetime
) -> None:
    from datetime import timedelta

    with transaction(wechat.app.session_factory) as s:
        parent = s.get(Person, demo.parent)
        assert parent is not None
        code = issue_code(
            s, parent, role="guardian", scope_type=None, scope_id=None, now=now, valid_for=timedelta(days=7)
        )
    fake = await wechat.start(safe=True)
    greeting = await fake.event(OPENID, "subscribe")
    assert greeting is not None and "邀请码" in greeting
    reply = await fake.say(OPENID, code)
    assert reply is not None and "王建国" in reply and "回复 1：" in reply
    found = identity(wechat.app)
    assert found is not None and found.person_id == demo.parent


async def test_scanning_an_invite_qr_code_binds_in_one_step(
    wechat: Harness, demo: Any, now: datetime
) -> None:
    from datetime import timedelta

    with transaction(wechat.app.session_factory) as s:
        parent = s.get(Person, demo.parent)
        assert parent is not None
        code = issue_code(
            s, parent, role="guardian", scope_type=None, scope_id=None, now=now, valid_for=timedelta(days=7)
        )
    fake = await wechat.start(safe=False)
    reply = await fake.event(OPENID, "subscribe", key=f"qrscene_{code}")
    assert reply is not None and "王建国" in reply
    found = identity(wechat.app)
    assert found is not None and found.person_id == demo.parent


async def test_unsubscribe_marks_the_account_inactive_and_writing_again_reactivates(wechat: Harness) -> None:
    fake = await wechat.start(safe=False)
    await fake.say(OPENID, "/help")
    assert await fake.event(OPENID, "unsubscribe") is None
    found = identity(wechat.app)
    assert found is not None and found.active is False
    await fake.event(OPENID, "subscribe")
    found = identity(wechat.app)
    assert found is not None and found.active is True


async def test_menu_click_runs_a_command_or_presses_a_button(wechat: Harness) -> None:
    fake = await wechat.start(safe=False)
    reply = await fake.event(OPENID, "CLICK", key="/language")
    assert reply is not None and "回复 3：English" in reply
    assert await fake.event(OPENID, "CLICK", key="lang:en") == "Language set to English."
    assert await fake.event(OPENID, "VIEW", key="https://example.org/") is None
    # Events have no MsgId: a resent click (same sender and CreateTime) is handled once.
    xml = fake.event_xml(OPENID, "CLICK", key="/language")
    first = fake.open_reply(*await fake.post(xml))
    assert first == fake.open_reply(*await fake.post(xml))
    assert processed_count(wechat.app) == 3


class SlowRouter:
    """Holds every update until the test lets it go, as a slow database would."""

    def __init__(self, router: Any) -> None:
        self.router = router
        self.release = threading.Event()

    def handle(self, incoming: Incoming, now: datetime, caps: ChannelCaps) -> list[Reply]:
        self.release.wait(timeout=10)
        return self.router.handle(incoming, now, caps)  # type: ignore[no-any-return]


async def test_slow_work_answers_success_then_sends_a_customer_service_message(wechat: Harness) -> None:
    fake = await wechat.start(safe=True, passive_timeout=0.2)
    fake.late = None
    slow = SlowRouter(wechat.app.router)
    wechat.app.__dict__["router"] = slow
    assert await fake.say(OPENID, "/language") is None  # "success": WeChat will not retry
    assert wechat.api.of("message/custom/send") == []
    slow.release.set()
    assert wechat.server is not None
    await wechat.server.drain()
    sent = wechat.api.of("message/custom/send")
    assert [m["touser"] for m in sent] == [OPENID]
    assert "回复 1：简体中文" in sent[0]["text"]["content"]
    # A retry of that same message now gets the finished reply instead of running it again.
    assert processed_count(wechat.app) == 1


async def test_a_long_reply_is_split_passive_first_then_customer_service(wechat: Harness) -> None:
    fake = await wechat.start(safe=False)
    long_text = "\n".join(f"第{i}行：" + "家校通知内容" * 10 for i in range(60))
    wechat.app.__dict__["router"] = _FixedRouter([Reply(long_text)])
    reply = await fake.say(OPENID, "anything")
    assert reply is not None and reply.startswith("第0行") and len(reply.encode()) <= 2048
    assert wechat.server is not None
    await wechat.server.drain()
    rest = [m["text"]["content"] for m in wechat.api.of("message/custom/send")]
    assert rest and all(len(part.encode()) <= 2048 for part in rest)
    assert "\n".join([reply, *rest]) == long_text


CHART = Attachment("attendance.png", b"\x89PNG\r\n\x1a\n" + b"0" * 500, "image/png")
WORKBOOK = Attachment(
    "attendance.xlsx",
    b"PK\x03\x04" + b"0" * 500,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)


@pytest.mark.parametrize("wecom", [False, True], ids=["official-account", "wecom"])
async def test_report_files_are_uploaded_and_sent_after_the_text(wechat: Harness, wecom: bool) -> None:
    fake = await wechat.start(safe=True, wecom=wecom)
    wechat.app.__dict__["router"] = _FixedRouter(
        [Reply("出勤率 96%", attachment=CHART), Reply("完整表格：", attachment=WORKBOOK)]
    )
    reply = await fake.say("oPrincipal", "/report")
    assert reply is not None and reply.startswith("出勤率 96%")
    assert ("attendance.xlsx" in reply) is not wecom  # an Official Account cannot send files: say so
    assert wechat.server is not None
    await wechat.server.drain()
    uploads = wechat.api.of("media/upload")
    if wecom:
        assert [(u["type"], u["filename"]) for u in uploads] == [
            ("image", "attendance.png"),
            ("file", "attendance.xlsx"),
        ]
        sent = wechat.api.of("message/send")
        assert [m["msgtype"] for m in sent] == ["image", "file"]
        assert [m["image" if m["msgtype"] == "image" else "file"]["media_id"] for m in sent] == [
            u["media_id"] for u in uploads
        ]
    else:
        assert [(u["type"], u["filename"], u["size"]) for u in uploads] == [
            ("image", "attendance.png", len(CHART.content))
        ]
        [image] = wechat.api.of("message/custom/send")
        assert image["msgtype"] == "image" and image["image"]["media_id"] == uploads[0]["media_id"]


class _FixedRouter:
    def __init__(self, replies: list[Reply]) -> None:
        self.replies = replies

    def handle(self, incoming: Incoming, now: datetime, caps: ChannelCaps) -> list[Reply]:
        return list(self.replies)


async def test_wecom_mode_handshake_and_an_encrypted_dialog(wechat: Harness) -> None:
    fake = await wechat.start(safe=True, wecom=True)
    assert fake.http is not None
    query, _body = fake.signed("<xml/>")
    encrypted_echo = fake.crypto._encrypt_message("echo-42", query["nonce"], query["timestamp"], _prp(fake))
    import xmltodict

    envelope = xmltodict.parse(encrypted_echo)["xml"]
    params = {
        "msg_signature": envelope["MsgSignature"],
        "timestamp": query["timestamp"],
        "nonce": query["nonce"],
        "echostr": envelope["Encrypt"],
    }
    async with fake.http.get(fake.url, params=params) as response:
        assert (response.status, await response.text()) == (200, "echo-42")
    reply = await fake.say("zhangsan", "/language")
    assert reply is not None and "回复 2：繁體中文" in reply


def _prp(fake: FakeWeChatServer) -> Any:
    from wechatpy.crypto import PrpCrypto

    return PrpCrypto


async def test_concurrent_callbacks_from_many_parents(wechat: Harness) -> None:
    fake = await wechat.start(safe=True)
    replies = await asyncio.gather(*(fake.say(f"oParent{i:022d}", "/language") for i in range(10)))
    assert all(r is not None and "回复 1：简体中文" in r for r in replies)
    assert processed_count(wechat.app) == 10


async def test_correctly_signed_but_undecryptable_payloads_are_refused(wechat: Harness) -> None:
    import time as wall

    from wechatpy.crypto import _get_signature

    fake = await wechat.start(safe=True)
    assert fake.http is not None
    timestamp, nonce = str(int(wall.time())), "n1"
    signer = WeChatSigner()
    signer.add_data(TOKEN, timestamp, nonce)
    for payload in ("", "AAAA", "not base64 at all!"):
        query = {
            "timestamp": timestamp,
            "nonce": nonce,
            "signature": signer.signature,
            "encrypt_type": "aes",
            "msg_signature": _get_signature(TOKEN, timestamp, nonce, payload),
        }
        body = f"<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[{payload}]]></Encrypt></xml>"
        async with fake.http.post(fake.url, params=query, data=body.encode()) as response:
            assert response.status == 403, payload
    assert processed_count(wechat.app) == 0
