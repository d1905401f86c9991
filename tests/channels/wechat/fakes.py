"""A fake WeChat API on loopback, and a fake WeChat server that signs and encrypts callbacks with wechatpy."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import xmltodict
from aiohttp import web
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.utils import WeChatSigner

APP_ID = "wx1234567890abcdef"
SECRET = "test-secret"
TOKEN = "jiaxiao-test-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, like a real EncodingAESKey
ACCOUNT = "gh_jiaxiao"


@dataclass
class Sent:
    endpoint: str
    body: dict[str, Any]


@dataclass
class FakeWeChatApi:
    """Issues tokens and records customer-service, template and WeCom sends; can be told to fail."""

    tokens_issued: int = 0
    valid_tokens: set[str] = field(default_factory=set)
    sent: list[Sent] = field(default_factory=list)
    failures: dict[str, list[int]] = field(default_factory=dict)
    base_url: str = ""

    def fail_next(self, endpoint: str, *errcodes: int) -> None:
        self.failures.setdefault(endpoint, []).extend(errcodes)

    def expire_tokens(self) -> None:
        self.valid_tokens.clear()

    def of(self, endpoint: str) -> list[dict[str, Any]]:
        return [s.body for s in self.sent if s.endpoint == endpoint]

    def web_app(self) -> web.Application:
        application = web.Application()
        application.router.add_get("/cgi-bin/token", self._token)
        application.router.add_get("/cgi-bin/gettoken", self._token)
        for endpoint in ("message/custom/send", "message/template/send", "message/send", "menu/create"):
            application.router.add_post(f"/cgi-bin/{endpoint}", self._sender(endpoint))
        application.router.add_post("/cgi-bin/media/upload", self._upload)
        return application

    async def _upload(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") not in self.valid_tokens:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        form = await request.post()
        media = form["media"]
        assert isinstance(media, web.FileField)
        content = media.file.read()
        media_id = f"MEDIA-{len(self.sent) + 1}"
        self.sent.append(
            Sent(
                "media/upload",
                {
                    "type": request.query.get("type"),
                    "filename": media.filename,
                    "size": len(content),
                    "media_id": media_id,
                },
            )
        )
        return web.json_response({"type": request.query.get("type"), "media_id": media_id, "created_at": 1})

    async def _token(self, request: web.Request) -> web.Response:
        secret = request.query.get("secret") or request.query.get("corpsecret")
        if secret != SECRET:
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
        self.tokens_issued += 1
        token = f"TOKEN-{self.tokens_issued}"
        self.valid_tokens.add(token)
        return web.json_response({"access_token": token, "expires_in": 7200})

    def _sender(self, endpoint: str):  # type: ignore[no-untyped-def]
        async def handle(request: web.Request) -> web.Response:
            if request.query.get("access_token") not in self.valid_tokens:
                return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
            queued = self.failures.get(endpoint)
            if queued:
                return web.json_response({"errcode": queued.pop(0), "errmsg": "scripted failure"})
            body = await request.json()
            self.sent.append(Sent(endpoint, body))
            return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": 1000 + len(self.sent)})

        return handle


class FakeWeChatServer:
    """What Tencent's servers do: build callback XML, sign it, encrypt it in safe mode, POST it."""

    def __init__(self, url: str, http: aiohttp.ClientSession, *, safe: bool, wecom: bool = False) -> None:
        self.url = url
        self.http = http
        self.safe = safe
        self.wecom = wecom
        self.crypto: Any = (WeComCrypto if wecom else WeChatCrypto)(TOKEN, AES_KEY, APP_ID)
        self.next_id = 6_000_000_000_000_000_000
        # On a loaded machine a reply can miss the passive deadline and arrive as a customer-service
        # message instead; the harness sets this to collect it, so the user-visible text is compared.
        self.late: Callable[[str], Awaitable[str | None]] | None = None
        self.clock = 1_795_000_000

    def _stamp(self) -> str:
        self.clock += 1
        return str(self.clock)

    def text_xml(self, openid: str, text: str, msg_id: int | None = None) -> str:
        self.next_id += 1
        return (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{self._stamp()}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id or self.next_id}</MsgId>"
            + ("<AgentID>1000002</AgentID>" if self.wecom else "")
            + "</xml>"
        )

    def event_xml(self, openid: str, event: str, key: str | None = None) -> str:
        return (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{self._stamp()}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event>"
            + (f"<EventKey><![CDATA[{key}]]></EventKey>" if key is not None else "")
            + "</xml>"
        )

    def signed(self, xml: str, *, forge: bool = False, age: float = 0) -> tuple[dict[str, str], str]:
        """Query string and body exactly as WeChat sends them in this mode (signed `age` seconds ago)."""
        timestamp, nonce = str(int(time.time() - age)), "n" + self._stamp()
        signer = WeChatSigner()
        signer.add_data(TOKEN, timestamp, nonce)
        query = {"timestamp": timestamp, "nonce": nonce, "signature": signer.signature}
        if self.wecom:
            query.pop("signature")
        body = xml
        if self.safe or self.wecom:
            envelope = self.crypto.encrypt_message(xml, nonce, timestamp)
            parsed = xmltodict.parse(envelope)["xml"]
            body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{parsed['Encrypt']}]]></Encrypt></xml>"
            query["msg_signature"] = parsed["MsgSignature"]
            if not self.wecom:
                query["encrypt_type"] = "aes"
        if forge:
            key = "msg_signature" if "msg_signature" in query else "signature"
            query[key] = "0" * 40
        return query, body

    async def post(self, xml: str, *, forge: bool = False, age: float = 0) -> tuple[int, str]:
        query, body = self.signed(xml, forge=forge, age=age)
        async with self.http.post(self.url, params=query, data=body.encode()) as response:
            return response.status, await response.text()

    def open_reply(self, status: int, body: str) -> str | None:
        """The text of a passive reply (decrypted in safe mode); None for 'success'."""
        assert status == 200, (status, body)
        if body == "success":
            return None
        xml = body
        if self.safe or self.wecom:
            envelope = xmltodict.parse(body)["xml"]
            xml = self.crypto.decrypt_message(
                body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
            )
        reply = xmltodict.parse(xml)["xml"]
        assert reply["MsgType"] == "text"
        return str(reply["Content"])

    async def say(self, openid: str, text: str) -> str | None:
        reply = self.open_reply(*await self.post(self.text_xml(openid, text)))
        return reply if reply is not None or self.late is None else await self.late(openid)

    async def event(self, openid: str, event: str, key: str | None = None) -> str | None:
        reply = self.open_reply(*await self.post(self.event_xml(openid, event, key)))
        return reply if reply is not None or self.late is None else await self.late(openid)
