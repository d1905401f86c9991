"""Whatever arrives signed, the parser answers with a Callback, Forbidden or BadCallback — never a crash."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wechatpy.crypto import WeChatCrypto, _get_signature
from wechatpy.utils import WeChatSigner

from chatbot.app import App
from chatbot.channels.wechat.server import BadCallback, CallbackServer, Forbidden, dedupe_key, to_incoming
from tests.channels.wechat.conftest import options
from tests.channels.wechat.fakes import AES_KEY, APP_ID, TOKEN
from tests.conftest import make_settings

TAGS = st.sampled_from(
    ["MsgType", "Content", "Event", "EventKey", "FromUserName", "MsgId", "CreateTime", "Recognition"]
)
VALUES = st.one_of(
    st.sampled_from(
        ["text", "event", "voice", "image", "subscribe", "unsubscribe", "CLICK", "SCAN", "", "0", "-1"]
    ),
    st.text(max_size=30),
)
XML = st.lists(st.tuples(TAGS, VALUES), max_size=8).map(
    lambda pairs: "<xml>" + "".join(f"<{t}><![CDATA[{v}]]></{t}>" for t, v in pairs) + "</xml>"
)
BODIES = st.one_of(XML, st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1")))


def server(safe: bool) -> CallbackServer:
    app = App(
        make_settings(
            "sqlite://", wechat_token=TOKEN, wechat_app_id=APP_ID, wechat_aes_key=AES_KEY if safe else None
        )
    )
    return CallbackServer(app, options(), None)


def signed_query() -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), "n"
    signer = WeChatSigner()
    signer.add_data(TOKEN, timestamp, nonce)
    return {"timestamp": timestamp, "nonce": nonce, "signature": signer.signature}


def check(callback_server: CallbackServer, query: dict[str, str], body: str) -> None:
    try:
        callback = callback_server.open(query, body.encode("utf-8", "surrogatepass"))
    except (Forbidden, BadCallback):
        return
    incoming = to_incoming(callback.message)
    assert incoming is None or incoming.channel == "wechat"
    assert len(dedupe_key(callback.message)) <= 128


PLAIN = server(safe=False)
SAFE = server(safe=True)
CRYPTO = WeChatCrypto(TOKEN, AES_KEY, APP_ID)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(BODIES)
def test_plaintext_bodies_never_crash_the_parser(body: str) -> None:
    check(PLAIN, signed_query(), body)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(XML, st.booleans())
def test_encrypted_bodies_never_crash_the_parser(inner: str, garble: bool) -> None:
    query = signed_query()
    if garble:
        encrypt = inner[:40]
    else:
        import xmltodict

        encrypt = xmltodict.parse(CRYPTO.encrypt_message(inner, query["nonce"], query["timestamp"]))["xml"][
            "Encrypt"
        ]
    query |= {
        "encrypt_type": "aes",
        "msg_signature": _get_signature(TOKEN, query["timestamp"], query["nonce"], encrypt),
    }
    check(SAFE, query, f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
