"""The runtime contract, the command line, housekeeping and rendering details."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import aiohttp
import pytest
from sqlalchemy import func, select
from wechatpy.utils import WeChatSigner

from chatbot.app import App
from chatbot.channels.wechat import runtime
from chatbot.channels.wechat.options import WeChatOptions, template_category
from chatbot.channels.wechat.render import cdata_safe, split_text, summary
from chatbot.core.messages import Reply
from db.models import ProcessedUpdate
from db.session import transaction
from tests.channels.wechat.conftest import Harness
from tests.channels.wechat.fakes import APP_ID, SECRET, TOKEN, FakeWeChatApi
from tests.channels.wechat.test_callbacks import _FixedRouter
from tests.loopback import free_port


async def test_serve_answers_the_handshake_until_stopped(app: App) -> None:
    assert not runtime.configured(app.settings)
    app.settings.wechat_token = TOKEN
    assert runtime.configured(app.settings)
    assert runtime.sender(app) is None  # no app id / secret: passive replies only
    port = free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(runtime.serve(app, stop, port=port))
    signer = WeChatSigner()
    signer.add_data(TOKEN, "1795000000", "n1")
    params = {"signature": signer.signature, "timestamp": "1795000000", "nonce": "n1", "echostr": "ok-7"}
    async with aiohttp.ClientSession() as http:
        for _attempt in range(100):
            try:
                async with http.get(f"http://127.0.0.1:{port}/wechat", params=params) as response:
                    assert await response.text() == "ok-7"
                    break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        else:
            pytest.fail("the callback server did not start")
    stop.set()
    await asyncio.wait_for(task, timeout=10)


def test_cli_refuses_to_start_without_a_token(monkeypatch: pytest.MonkeyPatch, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from chatbot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.delenv("WECHAT_TOKEN", raising=False)
    assert main(["wechat"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "WECHAT_TOKEN" in err[0]
    monkeypatch.setenv("WECHAT_TOKEN", "t")
    monkeypatch.setenv("WECHAT_MODE", "telex")
    assert main(["wechat"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "WECHAT_MODE" in err[0]
    monkeypatch.setenv("WECHAT_MODE", "mp")
    monkeypatch.setenv("WECHAT_AES_KEY", "too-short")
    assert main(["wechat"]) == 2
    assert "WECHAT_AES_KEY" in capsys.readouterr().err


async def test_old_dedupe_keys_are_purged(wechat: Harness, now: datetime) -> None:
    await wechat.start(safe=False)
    with transaction(wechat.app.session_factory) as s:
        s.add(ProcessedUpdate(channel="wechat", key="msg:1", at=now - timedelta(days=2)))
        s.add(ProcessedUpdate(channel="wechat", key="msg:2", at=now - timedelta(minutes=1)))
        s.add(ProcessedUpdate(channel="telegram", key="msg:1", at=now - timedelta(days=2)))
    assert wechat.server is not None
    assert wechat.server.purge(now) == 1
    with wechat.app.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(ProcessedUpdate)) == 2


async def test_reply_text_cannot_break_the_xml(wechat: Harness) -> None:
    fake = await wechat.start(safe=True)
    wechat.app.__dict__["router"] = _FixedRouter([Reply("a]]>b\x01c <b>&amp;")])
    assert await fake.say("oSomeone", "x") == "a]]>bc <b>&amp;"


def test_rendering_helpers() -> None:
    assert cdata_safe("x]]>y") == "x]]]]><![CDATA[>y"
    text = "甲" * 1000
    parts = split_text(text)
    assert "".join(parts) == text and all(len(p.encode()) <= 1900 for p in parts)
    assert split_text("") == [""]
    assert summary("请看 https://x.org/a?b=1 通知\n\n明天放假", 40) == "请看 通知 明天放假"
    assert summary("字" * 100, 20) == "字" * 19 + "…"
    assert [template_category(k) for k in ("attendance.absence_question", "notice_reminder", "notice")] == [
        "alert",
        "reminder",
        "notice",
    ]


def test_bad_template_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="FIELD"):
        WeChatOptions(template_fields="first=colour", _env_file=None)  # type: ignore[call-arg]
    assert WeChatOptions(template_fields="thing1=title,time2=time", _env_file=None).field_map() == {  # type: ignore[call-arg]
        "thing1": "title",
        "time2": "time",
    }


def test_cli_names_the_setting_that_is_wrong(monkeypatch: pytest.MonkeyPatch, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from chatbot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("WECHAT_TOKEN", "t")
    cases = [
        ({"WECHAT_AES_KEY": "A" * 43}, "WECHAT_APP_ID"),  # safe mode needs the AppID to decrypt
        ({"WECHAT_AES_KEY": "!" * 43, "WECHAT_APP_ID": "wx1"}, "not a valid EncodingAESKey"),
        ({"WECHAT_MODE": "wecom"}, "required in WeCom mode"),
        (
            {
                "WECHAT_MODE": "wecom",
                "WECHAT_AES_KEY": "A" * 43,
                "WECHAT_APP_ID": "ww1",
                "WECHAT_SECRET": "s",
            },
            "AGENT_ID",
        ),
    ]
    for env, expected in cases:
        for name in ("WECHAT_AES_KEY", "WECHAT_APP_ID", "WECHAT_MODE", "WECHAT_SECRET"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        assert main(["wechat"]) == 2, env
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expected in err[0], (env, err)


async def test_menu_is_installed_through_the_api(
    app: App,
    fake_api: FakeWeChatApi,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    from chatbot.cli import main

    monkeypatch.chdir(tmp_path)
    for name, value in {
        "DATABASE_URL": app.settings.database_url,
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_SECRET": SECRET,
        "WECHAT_API_BASE_URL": fake_api.base_url,
    }.items():
        monkeypatch.setenv(name, value)
    assert await asyncio.to_thread(main, ["wechat-menu"]) == 0
    [menu] = fake_api.of("menu/create")
    assert [b["name"] for b in menu["button"]] == ["学生资助", "请假", "更多"]
    assert menu["button"][0] == {"type": "click", "name": "学生资助", "key": "/aid"}
    assert "/rollcall" in [b["key"] for b in menu["button"][2]["sub_button"]]
    bad = tmp_path / "menu.json"
    bad.write_text('{"buttons": []}', encoding="utf-8")
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["wechat-menu", "--file", str(bad)]) == 2
    assert "button" in capsys.readouterr().err
    fake_api.fail_next("menu/create", 40018)
    assert await asyncio.to_thread(main, ["wechat-menu"]) == 2
    assert "40018" in capsys.readouterr().err
