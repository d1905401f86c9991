"""The channel registry: one type per code, what each type holds, and who asks it."""

from __future__ import annotations

import pytest

from chatbot.app import App
from chatbot.channels.base import ChannelType
from chatbot.channels.console import CONSOLE_CAPS
from chatbot.channels.registry import CHANNEL_TYPES, channel_type, configured_types
from chatbot.channels.telegram import TELEGRAM_CAPS
from chatbot.channels.telegram.sender import TelegramSender
from chatbot.channels.wechat.render import WECHAT_CAPS
from chatbot.core.messages import ChannelCaps
from chatbot.delivery.limits import ChannelLimit
from chatbot.delivery.worker import DeliveryConfig, Worker
from tests.conftest import make_settings
from tests.delivery.fakes import FakeSender


def test_each_code_has_one_type_with_its_own_capabilities() -> None:
    assert list(CHANNEL_TYPES) == ["console", "telegram", "wechat"]
    assert [channel_type(code).caps for code in CHANNEL_TYPES] == [CONSOLE_CAPS, TELEGRAM_CAPS, WECHAT_CAPS]
    # Telegram shows real buttons and edits; WeChat and the console number the options and cannot edit.
    assert [(c.numbered_buttons, c.can_edit) for c in (CONSOLE_CAPS, TELEGRAM_CAPS, WECHAT_CAPS)] == [
        (True, False),
        (False, True),
        (True, False),
    ]
    assert (TELEGRAM_CAPS.max_text, WECHAT_CAPS.max_text) == (4096, 600)
    with pytest.raises(KeyError):
        channel_type("sms")


def test_the_settings_decide_which_channels_the_main_job_serves() -> None:
    url = "sqlite:///unused.db"
    assert configured_types(make_settings(url)) == []
    assert [t.code for t in configured_types(make_settings(url, telegram_token="1:x"))] == ["telegram"]
    assert [t.code for t in configured_types(make_settings(url, wechat_token="w"))] == ["wechat"]
    both = make_settings(url, telegram_token="1:x", wechat_token="w")
    assert [t.code for t in configured_types(both)] == ["telegram", "wechat"]
    # The console is run by `bot.py console`, never by the main job.
    assert CHANNEL_TYPES["console"].serve is None


def test_rate_limits_are_the_channel_types_with_telegrams_from_the_settings() -> None:
    settings = make_settings(
        "sqlite:///unused.db", telegram_rate_per_second=25.0, telegram_rate_per_chat_per_second=0.5
    )
    assert CHANNEL_TYPES["telegram"].limit(settings) == ChannelLimit(per_second=25.0, per_chat_per_second=0.5)
    assert CHANNEL_TYPES["wechat"].limit(settings) == ChannelLimit(per_second=20.0, per_chat_per_second=None)
    assert CHANNEL_TYPES["console"].limit(settings) == ChannelLimit()
    # Telegram's own flood limits when the Sender is built without settings.
    assert TelegramSender(bot=None).limit == ChannelLimit(per_second=30.0, per_chat_per_second=1.0)  # type: ignore[arg-type]


def test_a_type_must_be_whole() -> None:
    with pytest.raises(ValueError, match="its capabilities are for 'console'"):
        ChannelType.create("sms", CONSOLE_CAPS)
    sms_caps = ChannelCaps(code="sms", numbered_buttons=True, can_edit=False, max_text=70)
    with pytest.raises(ValueError, match="needs a serve loop"):
        ChannelType.create("sms", sms_caps, configured=lambda settings: True)
    plain = ChannelType.create("sms", sms_caps)
    assert (plain.configured(make_settings("sqlite:///unused.db")), plain.sender, plain.serve) == (
        False,
        plain.sender,
        None,
    )


def test_the_worker_paces_each_channel_by_its_senders_limit_unless_the_config_overrides_it(
    empty_app: App,
) -> None:
    telegram, wechat = FakeSender("telegram"), FakeSender("wechat", numbered=True)
    telegram.limit = ChannelLimit(per_second=30.0, per_chat_per_second=1.0)
    wechat.limit = ChannelLimit(per_second=20.0)
    worker = Worker(empty_app.session_factory, [telegram, wechat], DeliveryConfig())
    assert worker.limits == {"telegram": telegram.limit, "wechat": wechat.limit}
    assert (worker.numbered, worker.editable) == ({"wechat"}, frozenset({"telegram"}))
    slower = ChannelLimit(per_second=5.0)
    overridden = Worker(
        empty_app.session_factory, [telegram, wechat], DeliveryConfig(limits={"wechat": slower})
    )
    assert overridden.limits == {"telegram": telegram.limit, "wechat": slower}
