"""The database side of a callback, run in the callback threads: claiming it once, routing it and
composing the reply texts (with any messages held for this user), unsubscribes, and purging old records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from chatbot.app import App
from chatbot.channels.wechat.render import CHANNEL, WECHAT_CAPS, messages_for, render_text, split_text
from chatbot.channels.wechat.sender import DEFERRED_KEEP, DEFERRED_MAX, WeChatSender
from chatbot.core.messages import Attachment, Incoming
from chatbot.core.router import pick_locale
from chatbot.delivery.outbox import take_held_for_reply
from chatbot.i18n import _, use_locale
from db.models import ChannelIdentity, OutboxMessage, OutboxStatus, ProcessedUpdate
from db.session import transaction

# Retries come within about 15 seconds; a day of keys is plenty and keeps the table small.
DEDUPE_KEEP = timedelta(days=1)
# A message held for a reply this long is not waited for any more (the purge cancels it).
DEFERRED_PURGE = timedelta(days=30)


@dataclass(frozen=True)
class Answer:
    """What one callback produced: text messages (the first may go back passively) and files."""

    texts: list[str]
    attachments: list[Attachment]


@dataclass(frozen=True)
class Claim:
    fresh: bool
    reply: str | None = None


class Updates:
    """Blocking work for the callback server; `sender` is None when nothing can be pushed (no secret)."""

    def __init__(self, app: App, sender: WeChatSender | None) -> None:
        self.app = app
        self.sender = sender

    def claim(self, key: str, now: datetime) -> Claim:
        factory = self.app.session_factory
        try:
            with transaction(factory) as session:
                session.add(ProcessedUpdate(channel=CHANNEL, key=key, at=now, reply=None))
            return Claim(fresh=True)
        except IntegrityError:
            with factory() as session:
                reply = session.scalars(
                    select(ProcessedUpdate.reply).where(
                        ProcessedUpdate.channel == CHANNEL, ProcessedUpdate.key == key
                    )
                ).first()
            return Claim(fresh=False, reply=reply)

    def process(self, incoming: Incoming, key: str, now: datetime) -> Answer:
        """Route the update, then render its replies (plus any deferred messages) in the user's language."""
        replies = self.app.router.handle(incoming, now, WECHAT_CAPS)
        with transaction(self.app.session_factory) as session:
            identity = session.scalars(
                select(ChannelIdentity).where(
                    ChannelIdentity.channel == CHANNEL, ChannelIdentity.external_id == incoming.external_id
                )
            ).one_or_none()
            locale = pick_locale(identity, incoming, self.app.settings) if identity else None
            with use_locale(locale or self.app.settings.default_locale):
                texts = messages_for(replies, self.can_send)
                if identity is not None:
                    owed, skipped = take_held_for_reply(
                        session, identity.id, now, keep=DEFERRED_KEEP, most=DEFERRED_MAX
                    )
                    if skipped:
                        texts.append(
                            _("Older messages from the school not repeated here: {count}.").format(
                                count=skipped
                            )
                        )
                    for row in owed:
                        texts.extend(split_text(render_text(row.text, row.buttons)))
                        if row.buttons:
                            identity.last_buttons = list(row.buttons)
                if len(texts) > 1 and self.sender is None:
                    texts = [texts[0] + "\n" + _("(Shortened: the rest did not fit in one message.)")]
            session.execute(
                update(ProcessedUpdate)
                .where(ProcessedUpdate.channel == CHANNEL, ProcessedUpdate.key == key)
                .values(reply=texts[0] if texts else "")
            )
        files = [r.attachment for r in replies if r.attachment is not None and self.can_send(r.attachment)]
        return Answer(texts, files)

    def can_send(self, attachment: Attachment) -> bool:
        return self.sender is not None and self.sender.can_send(attachment)

    def deactivate(self, external_id: str) -> None:
        """Unsubscribed: stop queueing messages to this account until the user writes again."""
        with transaction(self.app.session_factory) as session:
            session.execute(
                update(ChannelIdentity)
                .where(ChannelIdentity.channel == CHANNEL, ChannelIdentity.external_id == external_id)
                .values(active=False)
            )

    def purge(self, now: datetime) -> int:
        """Forget old de-duplication keys and stop holding month-old messages for a reply; returns keys removed."""
        with transaction(self.app.session_factory) as session:
            result = session.execute(
                delete(ProcessedUpdate).where(
                    ProcessedUpdate.channel == CHANNEL, ProcessedUpdate.at < now - DEDUPE_KEEP
                )
            )
            # Messages nobody asked for in a month will not be: they stop waiting.
            session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.AWAITING_REPLY,
                    OutboxMessage.channel == CHANNEL,
                    OutboxMessage.created_at < now - DEFERRED_PURGE,
                )
                .values(status=OutboxStatus.CANCELLED)
            )
            return int(getattr(result, "rowcount", 0) or 0)
