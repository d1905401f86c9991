"""Rendering replies: text splitting, attachments as photo or document."""

from __future__ import annotations

import pytest

from chatbot.channels.telegram.render import MAX_TEXT, keyboard, send_reply, split_text
from chatbot.channels.telegram.sender import TelegramSender
from chatbot.core.messages import Attachment, Button, Reply
from tests.channels.telegram.fake_bot_api import FakeBotApi

CHAT = 8001

SPLITS = [
    # (text, limit, expected parts)
    ("short", 10, ["short"]),
    ("aaaa bbbb cccc", 10, ["aaaa bbbb", "cccc"]),
    ("line one\nline two\nline three", 20, ["line one\nline two", "line three"]),
    ("第一段。\n\n第二段很长很长。", 10, ["第一段。", "第二段很长很长。"]),
    ("一二三四五。六七八九十。一二三", 12, ["一二三四五。六七八九十。", "一二三"]),
    ("x" * 25, 10, ["x" * 10, "x" * 10, "x" * 5]),
    ("   ", 10, ["…"]),
]


@pytest.mark.parametrize(("text", "limit", "expected"), SPLITS)
def test_split_text(text: str, limit: int, expected: list[str]) -> None:
    assert split_text(text, limit) == expected


def test_split_never_exceeds_the_limit_and_loses_nothing() -> None:
    text = ("家校通知 " * 50 + "\n") * 40
    parts = split_text(text)
    assert all(len(p) <= MAX_TEXT for p in parts)
    assert "".join(parts).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")


def test_oversized_payloads_are_refused() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        keyboard([[Button("x", "x" * 65)]])


async def test_png_goes_as_photo_and_other_files_as_documents(
    fake: FakeBotApi, sender: TelegramSender
) -> None:
    await sender._initialize()
    png = Attachment("chart.png", b"\x89PNG\r\n\x1a\nfake", "image/png")
    xlsx = Attachment(
        "roll.xlsx", b"PK\x03\x04fake", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    await send_reply(sender.bot, CHAT, Reply("本周出勤", [[Button("详情", "go:help")]], attachment=png))
    await send_reply(sender.bot, CHAT, Reply("long " * 300, attachment=xlsx))
    [photo] = fake.sent(CHAT, ("sendPhoto",))
    assert photo.params["caption"] == "本周出勤"
    assert photo.params["photo"]["content"] == png.content
    assert photo.keyboard == [[{"text": "详情", "callback_data": "go:help"}]]
    [document] = fake.sent(CHAT, ("sendDocument",))
    assert document.params["document"]["filename"] == "roll.xlsx"
    assert "caption" not in document.params  # too long for a caption: sent as text first
    assert len(fake.sent(CHAT)) == 1
