"""Outbox delivery over WeChat: customer-service messages inside the 48-hour window, templates outside it.

A template carries only a link-free summary (WeChat templates cannot hold our buttons or long text);
the full message waits in the outbox (state `awaiting_reply`) and goes with the reply to the user's
next message.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from chatbot.channels.wechat.api import (
    MP_DEFAULT_BASE,
    WECOM_DEFAULT_BASE,
    CorpClient,
    DbTokenStorage,
    MpClient,
    WindowClosed,
    call,
)
from chatbot.channels.wechat.options import WeChatOptions
from chatbot.channels.wechat.render import (
    CHANNEL,
    WECHAT_CAPS,
    flatten_buttons,
    kind_title,
    render_text,
    split_text,
    summary,
)
from chatbot.clock import utcnow
from chatbot.config import ConfigError, Settings
from chatbot.core.messages import Attachment
from chatbot.delivery.limits import ChannelLimit
from chatbot.delivery.outbox import account_locale, hold_for_reply, policy_of
from chatbot.delivery.ports import OutgoingMessage, PermanentFailure, RecipientGone
from chatbot.i18n import _, format_moment, recipient_locale, use_locale
from db.models import ChannelIdentity
from db.session import transaction

log = logging.getLogger(__name__)
IMAGE_TYPES = frozenset({"image/png", "image/jpeg"})
# WeChat's limits for temporary media: images 10 MB (2 MB for Official Account images), files 20 MB.
MAX_IMAGE_BYTES = 2 * 1024 * 1024
MAX_FILE_BYTES = 20 * 1024 * 1024
WECHAT_LIMIT = ChannelLimit(per_second=20.0, per_chat_per_second=None)
DEFERRED_KEEP = timedelta(days=7)
DEFERRED_MAX = 5


class WeChatSender:
    """The delivery worker's Sender for channel 'wechat' (and what the callback server uses for late replies)."""

    channel = CHANNEL
    # The delivery worker records pushed buttons as the identity's numbered options ("1", "2"…).
    caps = WECHAT_CAPS
    # Customer-service messages: the API allows far more; stay polite by default.
    limit = WECHAT_LIMIT

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: Settings,
        options: WeChatOptions,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if not settings.wechat_app_id or not settings.wechat_secret:
            raise ConfigError(
                "configuration error: WECHAT_APP_ID and WECHAT_SECRET are needed to send messages"
            )
        self.session_factory = session_factory
        self.settings = settings
        self.options = options
        self.clock = clock
        self._executor = ThreadPoolExecutor(
            max_workers=options.send_threads, thread_name_prefix="wechat-send"
        )
        storage = DbTokenStorage(session_factory, clock)
        base = settings.wechat_api_base_url
        self.client: Any
        if options.mode == "wecom":
            if options.agent_id is None:
                raise ConfigError("configuration error: WECHAT_AGENT_ID is required in WeCom mode")
            if base.rstrip("/") == MP_DEFAULT_BASE.rstrip("/"):
                base = WECOM_DEFAULT_BASE
            self.client = CorpClient(
                settings.wechat_app_id, settings.wechat_secret, base, storage, options.http_timeout
            )
        else:
            self.client = MpClient(
                settings.wechat_app_id, settings.wechat_secret, base, storage, options.http_timeout
            )

    async def send(self, message: OutgoingMessage) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, contextvars.copy_context().run, self.send_now, message
        )

    # --- synchronous core (runs in a worker thread) -------------------------------------------

    def send_now(self, message: OutgoingMessage) -> str:
        """Deliver one outbox row; raises RetryLater / RecipientGone / PermanentFailure."""
        buttons = flatten_buttons(message.buttons)
        with use_locale(self._locale(message.identity_id)):
            text = render_text(message.text, buttons)
            if self.options.mode == "wecom":
                msgid = self.send_texts(message.external_id, split_text(text))
                return msgid or f"wecom:{message.row_id}"
            if self.in_window(message.last_inbound_at):
                try:
                    self.send_texts(message.external_id, split_text(text))
                    return f"cs:{message.row_id}"
                except WindowClosed:
                    log.info(
                        "outbox row %s: customer-service window closed, using a template", message.row_id
                    )
            return self._send_template(message, buttons)

    def in_window(self, last_inbound_at: datetime | None) -> bool:
        if last_inbound_at is None:
            return False
        if last_inbound_at.tzinfo is None:
            last_inbound_at = last_inbound_at.replace(tzinfo=UTC)
        return self.clock() - last_inbound_at < timedelta(hours=self.options.window_hours)

    def send_texts(self, external_id: str, texts: list[str]) -> str | None:
        """Customer-service text messages (Official Account) or app messages (WeCom), in order."""
        msgid: str | None = None
        agent_id = self.options.agent_id
        for text in texts:
            if self.options.mode == "wecom":
                result = call(
                    self.client,
                    lambda text=text: self.client.message.send_text(agent_id, external_id, text),  # type: ignore[misc]
                )
                if isinstance(result, dict):
                    if external_id in str(result.get("invaliduser", "")).split("|"):
                        raise RecipientGone("not a member visible to this WeCom app")
                    msgid = str(result.get("msgid") or "") or msgid
            else:
                call(self.client, lambda text=text: self.client.message.send_text(external_id, text))  # type: ignore[misc]
        return msgid

    def can_send(self, attachment: Attachment) -> bool:
        """Pictures go everywhere; other files only to WeCom (Official Accounts cannot send files)."""
        if attachment.mime in IMAGE_TYPES:
            return len(attachment.content) <= MAX_IMAGE_BYTES
        return self.options.mode == "wecom" and len(attachment.content) <= MAX_FILE_BYTES

    def send_attachment(self, external_id: str, attachment: Attachment) -> None:
        """Upload as temporary media, then send it as an image (or, in WeCom, a file) message."""
        media_type = "image" if attachment.mime in IMAGE_TYPES else "file"
        upload = (attachment.filename, io.BytesIO(attachment.content), attachment.mime)
        result = call(self.client, lambda: self.client.media.upload(media_type, upload))
        media_id = result.get("media_id") if isinstance(result, dict) else None
        if not media_id:
            raise PermanentFailure("media upload returned no media_id")
        if self.options.mode == "wecom":
            agent_id = self.options.agent_id
            send = self.client.message.send_image if media_type == "image" else self.client.message.send_file
            call(self.client, lambda: send(agent_id, external_id, media_id))
        else:
            call(self.client, lambda: self.client.message.send_image(external_id, media_id))

    def _send_template(self, message: OutgoingMessage, buttons: list[dict[str, Any]]) -> str:
        template_id = self.options.template_for(message.kind)
        if not template_id:
            raise PermanentFailure(
                f"outside the 48-hour window and no template configured for kind {message.kind!r}"
            )
        values = {
            "title": kind_title(message.kind),
            "summary": summary(message.text, self.options.template_summary_chars),
            "time": format_moment(self.clock(), self.settings.timezone),
            "hint": _("Send any message to this account to read it in full and answer."),
        }
        data = {name: {"value": values[part]} for name, part in self.options.field_map().items()}
        try:
            result = call(
                self.client,
                lambda: self.client.message.send_template(message.external_id, template_id, data),
            )
        except WindowClosed as exc:
            raise PermanentFailure(str(exc)) from exc
        self._defer(message, buttons)
        msgid = result.get("msgid") if isinstance(result, dict) else None
        return f"tpl:{msgid}" if msgid else f"tpl:{message.row_id}"

    def _defer(self, message: OutgoingMessage, buttons: list[dict[str, Any]]) -> None:
        """Keep the full message in the outbox until the user writes again."""
        with transaction(self.session_factory) as session:
            account = session.get(ChannelIdentity, message.identity_id)
            if account is None:  # the account was forgotten meanwhile: nobody to owe it to
                return
            hold_for_reply(
                session,
                account,
                kind=message.kind,
                text=message.text,
                buttons=buttons,
                sent_row=message.row_id,
                now=self.clock(),
            )

    def _locale(self, identity_id: int) -> str:
        with self.session_factory() as session:
            identity = session.get(ChannelIdentity, identity_id)
            if identity is None:
                return recipient_locale(default=policy_of(session).default_locale)
            return account_locale(session, identity, identity.person)
