"""How replies look in WeChat: plain text, buttons as numbered options, split to WeChat's size limit."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from chatbot.core.messages import Attachment, ChannelCaps, Reply
from chatbot.i18n import N_, _

# WeChat cuts text messages at 2048 bytes of UTF-8 (about 680 Chinese characters); stay below it.
MAX_MESSAGE_BYTES = 1900
# What flows are told (ChannelCaps.max_text): a screenful on a cheap phone.
MAX_TEXT_CHARS = 600
CHANNEL = "wechat"
# Passive replies have no buttons: options are numbered ("回复 1 …"); sent messages cannot be edited.
WECHAT_CAPS = ChannelCaps(code=CHANNEL, numbered_buttons=True, can_edit=False, max_text=MAX_TEXT_CHARS)
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
# Characters XML 1.0 cannot carry at all; a flow echoing user input must not break the reply.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# Checked in order against the outbox kind; the first word found names the template's title.
KIND_TITLES = (
    ("absence", N_("Absence alert")),
    ("leave", N_("Leave request")),
    ("escalat", N_("Alert")),
    ("alert", N_("Alert")),
    ("remind", N_("Reminder")),
    ("nudge", N_("Reminder")),
    ("notice", N_("School notice")),
    ("broadcast", N_("School notice")),
)


def options_text(buttons: list[dict[str, Any]]) -> list[str]:
    """'Reply 1: Sick leave' lines for flat JSON buttons ({'label', 'payload'})."""
    return [
        _("Reply {number}: {label}").format(number=index, label=button["label"])
        for index, button in enumerate(buttons, start=1)
    ]


def render_text(text: str, buttons: list[dict[str, Any]]) -> str:
    lines = [text.rstrip()] if text.strip() else []
    if buttons:
        lines.extend(options_text(buttons))
    return "\n".join(lines)


def render_reply(reply: Reply, can_send: Callable[[Attachment], bool] = lambda _a: False) -> str:
    text = render_text(reply.text, [b.to_json() for b in reply.flat_buttons()])
    if reply.attachment is not None and not can_send(reply.attachment):
        note = _("(The file {name} cannot be shown in WeChat; ask your school for a copy.)").format(
            name=reply.attachment.filename
        )
        text = f"{text}\n{note}" if text else note
    return text


def flatten_buttons(rows: list[Any]) -> list[dict[str, Any]]:
    """Outbox rows store buttons as rows of {'label', 'payload'}; tolerate an already flat list."""
    flat: list[dict[str, Any]] = []
    for row in rows or []:
        if isinstance(row, dict):
            flat.append(row)
        else:
            flat.extend(button for button in row if isinstance(button, dict))
    return flat


def split_text(text: str, limit: int = MAX_MESSAGE_BYTES) -> list[str]:
    """Split at line ends (or anywhere, for one huge line) into pieces of at most `limit` UTF-8 bytes."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode()) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        while len(line.encode()) > limit:
            cut = _cut_at_bytes(line, limit)
            pieces.append(line[:cut])
            line = line[cut:]
        current = line
    if current or not pieces:
        pieces.append(current)
    return pieces


def _cut_at_bytes(text: str, limit: int) -> int:
    size = 0
    for index, char in enumerate(text):
        size += len(char.encode())
        if size > limit:
            return max(index, 1)
    return len(text)


def messages_for(
    replies: list[Reply], can_send: Callable[[Attachment], bool] = lambda _a: False
) -> list[str]:
    """The replies of one update as WeChat text messages: joined with blank lines, then split."""
    joined = "\n\n".join(text for text in (render_reply(r, can_send) for r in replies) if text)
    return split_text(joined) if joined else []


def summary(text: str, limit: int) -> str:
    """A link-free one-line summary for a template message."""
    flat = _SPACE.sub(" ", _URL.sub("", text)).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def kind_title(kind: str) -> str:
    lowered = kind.lower()
    for word, title in KIND_TITLES:
        if word in lowered:
            return _(title)
    return _("Message from school")


def cdata_safe(text: str) -> str:
    """Text that survives wechatpy's <![CDATA[...]]> rendering: no ']]>' and no XML-forbidden characters."""
    return _NOT_XML.sub("", text).replace("]]>", "]]]]><![CDATA[>")
