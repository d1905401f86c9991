"""Webhooks refuse what Telegram or WeChat did not send: 403 and nothing processed, oversized bodies refused.

Reuses the channel tests' harnesses: the fake Bot API with PTB's webhook server, and the WeChat
callback server with wechatpy signing and encrypting as Tencent does.
"""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from datetime import datetime

import aiohttp
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import func, select
from wechatpy.utils import WeChatSigner

from chatbot.app import App
from db.models import ChannelIdentity, DialogState, ProcessedUpdate
from tests.channels.telegram.conftest import start_webhook_bot
from tests.channels.telegram.fake_bot_api import FakeBotApi
from tests.channels.telegram.test_webhook import HEADER
from tests.channels.wechat.conftest import Harness, fake_api, wechat  # noqa: F401 - fixtures
from tests.channels.wechat.fakes import ACCOUNT, AES_KEY, TOKEN

SECRET = "reliability-secret_42"
OPENID = "oReliability000000000000000001"


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


def _nothing_processed(app: App) -> bool:
    with app.session_factory() as s:
        identities = s.scalar(select(func.count()).select_from(ChannelIdentity)) or 0
        dialogs = s.scalar(select(func.count()).select_from(DialogState)) or 0
        processed = s.scalar(select(func.count()).select_from(ProcessedUpdate)) or 0
    return identities == dialogs == processed == 0


# --- Telegram ------------------------------------------------------------------------------------


async def test_telegram_webhook_refuses_missing_or_wrong_secret_and_oversized_bodies(
    empty_app: App, fake: FakeBotApi, now: datetime
) -> None:
    running, url = await start_webhook_bot(empty_app, fake, now, SECRET)
    statuses: dict[str, int] = {}
    try:
        async with aiohttp.ClientSession() as http:
            cases = {
                "no secret": {},
                "wrong secret": {HEADER: "nope"},
                "secret of another bot": {HEADER: SECRET + "x"},
                "empty secret": {HEADER: ""},
            }
            for name, headers in cases.items():
                async with http.post(
                    url, json=fake.message_update(7101, "/help"), headers=headers
                ) as response:
                    statuses[name] = response.status
            # A forged button press (callback query) without the secret is refused the same way.
            async with http.post(url, json=fake.message_update(7102, "/start 123456")) as response:
                statuses["forged start code"] = response.status
            # 2 MB with the right secret: far above any real update, refused before it is parsed.
            huge = fake.message_update(7103, "x" * (2 * 1024 * 1024))
            try:
                async with http.post(url, json=huge, headers={HEADER: SECRET}) as response:
                    statuses["oversized"] = response.status
            except aiohttp.ClientError:
                statuses["oversized"] = 413  # the server closed the connection on the body
    finally:
        await running.shutdown()
    assert {k: v for k, v in statuses.items() if k != "oversized"} == {
        "no secret": 403,
        "wrong secret": 403,
        "secret of another bot": 403,
        "empty secret": 403,
        "forged start code": 403,
    }
    assert statuses["oversized"] in (400, 403, 413)
    assert fake.sent() == []
    assert _nothing_processed(empty_app)


# --- WeChat --------------------------------------------------------------------------------------


def _signed_envelope(encrypt: str, timestamp: str, nonce: str) -> tuple[dict[str, str], bytes]:
    """A safe-mode callback whose msg_signature is right for `encrypt`, whatever `encrypt` holds."""
    signer = WeChatSigner()
    signer.add_data(TOKEN, timestamp, nonce, encrypt)
    plain = WeChatSigner()
    plain.add_data(TOKEN, timestamp, nonce)
    query = {
        "timestamp": timestamp,
        "nonce": nonce,
        "signature": plain.signature,
        "msg_signature": signer.signature,
        "encrypt_type": "aes",
    }
    body = (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    )
    return query, body.encode()


def _encrypted_without_length_field() -> str:
    """A payload that decrypts and unpads with our key but holds fewer than the four bytes of its
    length field: what flipped bytes in the last block give now and then."""
    key = base64.b64decode(AES_KEY + "=")
    plain = b"r" * 16 + b"\x00\x00" + bytes([14]) * 14  # 16 random bytes, 2 of content, 14 of padding
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


async def test_wechat_refuses_bad_signatures_corrupted_aes_and_oversized_bodies(wechat: Harness) -> None:  # noqa: F811
    fake = await wechat.start(safe=True)
    assert fake.http is not None
    import time

    good_query, good_body = fake.signed(fake.text_xml(OPENID, "/help"))
    encrypt = good_body.split("<Encrypt><![CDATA[", 1)[1].split("]]>", 1)[0]
    raw = base64.b64decode(encrypt)
    flipped = base64.b64encode(raw[:-20] + bytes(b ^ 0xFF for b in raw[-20:])).decode()
    other_key = base64.b64encode(os.urandom(len(raw))).decode()
    corrupted = {
        "flipped bytes": flipped,
        "no length field": _encrypted_without_length_field(),
        "random ciphertext": other_key,
        "truncated": encrypt[: len(encrypt) // 2],
        "not base64": "!!!" + encrypt[3:],
        "empty": "",
    }
    statuses: dict[str, int] = {}
    for name, payload in corrupted.items():
        query, body = _signed_envelope(payload, str(int(time.time())), f"n{name.replace(' ', '')}")
        async with fake.http.post(fake.url, params=query, data=body) as response:
            statuses[name] = response.status
    # The right ciphertext with a signature for something else.
    async with fake.http.post(
        fake.url, params={**good_query, "msg_signature": "1" * 40}, data=good_body
    ) as r:
        statuses["bad msg_signature"] = r.status
    no_sig = {k: v for k, v in good_query.items() if k not in ("msg_signature", "signature")}
    async with fake.http.post(fake.url, params=no_sig, data=good_body.encode()) as r:
        statuses["unsigned"] = r.status
    big_query, big_body = fake.signed(fake.text_xml(OPENID, "长" * 20_000))
    async with fake.http.post(fake.url, params=big_query, data=big_body.encode()) as r:
        statuses["oversized"] = r.status
    assert statuses == {
        "flipped bytes": 403,
        "no length field": 403,
        "random ciphertext": 403,
        "truncated": 403,
        "not base64": 403,
        "empty": 403,
        "bad msg_signature": 403,
        "unsigned": 403,
        "oversized": 413,
    }
    assert _nothing_processed(wechat.app)
    assert wechat.api.sent == []
