"""PTB Application wiring: updates in through the router, replies out, one error handler.

Private chats go to the core router (`Router.handle` is synchronous and does database work, so it
runs in a worker thread and the event loop stays free). Group chats never reach the router: the
bot answers commands addressed to it with one fixed "write to me privately" message, so nothing
personal can ever be posted in a group.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from sqlalchemy import update as sql_update
from sqlalchemy.exc import SQLAlchemyError
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from chatbot.app import App
from chatbot.channels.telegram import CHANNEL, TELEGRAM_CAPS
from chatbot.channels.telegram.render import edit_reply, send_reply, with_network_retries
from chatbot.channels.telegram.updates import claim
from chatbot.core.flow import Registry
from chatbot.core.messages import Incoming, Reply
from chatbot.core.router import DatabaseBusy
from chatbot.i18n import _, locale_from_hint, use_locale
from db.models import ChannelIdentity
from db.session import is_lock_timeout, is_sqlite, transaction

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
# Telegram's language codes are two-letter ISO 639-1: "zh" cannot say Traditional, so it gets Simplified.
MENU_LANGUAGES = (("zh", "zh_Hans"), ("en", "en"))
# Updates in flight at once. More only queue for the database thread(s) and make httpx scan a larger
# connection pool on every request (measured with bench/bench_telegram.py: 16 was slower than 4).
CONCURRENT_UPDATES_SQLITE = 4
CONCURRENT_UPDATES_POSTGRESQL = 10
DATABASE_THREADS = 5  # SQLAlchemy's default pool size
MAX_COMMANDS = 100
ADAPTER_KEY = "jiaxiao.adapter"

TelegramApplication = Application[Any, Any, Any, Any, Any, Any]


class ChatOrderedUpdateProcessor(BaseUpdateProcessor):
    """Updates from different chats run concurrently; updates from one chat run in arrival order.

    A dialog step must see the state the previous message of that chat left behind, so two taps
    in one chat never race, while a thousand parents can still be served at once.
    """

    def __init__(self, max_concurrent_updates: int = CONCURRENT_UPDATES_SQLITE) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self.processed = 0

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            self.processed += 1
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        self._waiting[chat.id] = self._waiting.get(chat.id, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self.processed += 1
            self._waiting[chat.id] -= 1
            if not self._waiting[chat.id]:
                del self._waiting[chat.id]
                del self._locks[chat.id]

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free."""


class TelegramAdapter:
    """Turns updates into `Incoming`s for the router and renders its replies."""

    def __init__(self, app: App, clock: Callable[[], datetime]) -> None:
        self.app = app
        self.clock = clock
        # SQLite has one writer at a time: more threads only queue in its busy handler, which sleeps
        # in steps of milliseconds. PostgreSQL gets as many threads as the connection pool holds.
        workers = 1 if is_sqlite(app.settings.database_url) else DATABASE_THREADS
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="telegram-router")

    # --- updates in -------------------------------------------------------------------------

    async def skip_seen(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Runs before the other handlers: an update_id already handled stops here (no second answer)."""
        try:
            fresh = await self.claim(update.update_id)
        except SQLAlchemyError as exc:
            # Answering twice is better than not at all: go on without the claim.
            log.warning("telegram update %s not claimed: %s", update.update_id, type(exc).__name__)
            return
        if not fresh:
            log.info("telegram update %s was delivered again; already handled", update.update_id)
            raise ApplicationHandlerStop

    async def claim(self, update_id: int) -> bool:
        now = self.clock()
        factory = self.app.no_wait_session_factory
        if factory is not None:
            # As in `route`: on the event loop unless another connection holds the write lock.
            try:
                return claim(factory, update_id, now)
            except SQLAlchemyError as exc:
                if not is_lock_timeout(exc):
                    raise
        call = functools.partial(claim, self.app.session_factory, update_id, now)
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A private message goes to the router; a group message may get the 'write privately' note."""
        message, chat, user = update.effective_message, update.effective_chat, update.effective_user
        if message is None or chat is None:
            return
        if chat.type != ChatType.PRIVATE:
            await self.answer_group(context.bot, message, user.language_code if user else None)
            return
        incoming = Incoming(
            channel=CHANNEL,
            external_id=str(chat.id),
            text=message.text or message.caption,
            language_hint=user.language_code if user else None,
        )
        replies = await self.route(incoming)
        await self.render(context.bot, chat.id, replies, pressed=None)

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button press: stop the client's spinner at once, then route the payload."""
        query = update.callback_query
        if query is None:
            return
        try:
            await query.answer()
        except BadRequest as exc:
            # Too old to answer (the bot was down): still act on the press.
            log.info("callback query not answered: %s", exc.message)
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE or not query.data:
            return
        pressed = query.message if isinstance(query.message, Message) else None
        incoming = Incoming(
            channel=CHANNEL,
            external_id=str(chat.id),
            payload=query.data,
            language_hint=query.from_user.language_code,
        )
        replies = await self.route(incoming)
        await self.render(context.bot, chat.id, replies, pressed=pressed)

    def close(self) -> None:
        self.executor.shutdown(wait=False)

    async def route(self, incoming: Incoming) -> list[Reply]:
        router, now = self.app.router, self.clock()
        if router.can_try_without_waiting:
            # The router's work is mostly CPU under the GIL, so a thread adds little parallelism and
            # a GIL hand-off on every database call (measured: about 4 ms of CPU per update on
            # SQLite). Run it here unless it would wait for a lock another connection holds; then
            # it is rolled back and waits in the thread, so the event loop never waits on a lock.
            try:
                return router.handle(incoming, now, TELEGRAM_CAPS, no_wait=True)
            except DatabaseBusy:
                pass
        call = functools.partial(router.handle, incoming, now, TELEGRAM_CAPS)
        # No context is copied into the thread, and none is needed: the router sets the locale per update.
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    # --- replies out --------------------------------------------------------------------------

    async def render(self, bot: Bot, chat_id: int, replies: list[Reply], pressed: Message | None) -> None:
        """Send each reply; an `edit` reply to a button press replaces the message the button was on."""
        edited = False
        for reply in replies:
            if reply.edit and pressed is not None and not edited and reply.attachment is None:
                edited = await edit_reply(bot, chat_id, pressed.message_id, reply)
                if edited:
                    continue
            await send_reply(bot, chat_id, reply)

    async def answer_group(self, bot: Bot, message: Message, language_code: str | None) -> None:
        """Commands addressed to the bot get a fixed pointer to a private chat; everything else is ignored."""
        if not addressed_to(message.text, bot.username):
            return
        with use_locale(locale_from_hint(language_code) or self.app.settings.default_locale):
            text = _(
                "For anything personal, please write to me in a private chat. I never post personal data in groups."
            )
            label = _("Open a private chat")
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, url=f"https://t.me/{bot.username}")]])
        await with_network_retries(lambda: bot.send_message(message.chat_id, text, reply_markup=markup))

    # --- errors -------------------------------------------------------------------------------

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log (ids only), mark blocked chats inactive, and apologise to the user in their language."""
        error = context.error
        if not isinstance(update, Update):
            # Polling faults: PTB's updater retries them itself.
            log.warning("telegram: %s outside an update: %s", type(error).__name__, error)
            return
        chat = update.effective_chat
        if isinstance(error, Forbidden) and chat is not None:
            log.info("telegram chat %s blocked the bot; marking it inactive", chat.id)
            await asyncio.to_thread(deactivate, self.app, str(chat.id))
            return
        log.error("telegram update %s failed: %s", update.update_id, type(error).__name__, exc_info=error)
        if chat is None or chat.type != ChatType.PRIVATE:
            return
        user = update.effective_user
        with use_locale(
            locale_from_hint(user.language_code if user else None) or self.app.settings.default_locale
        ):
            text = _("Sorry, something went wrong. Please try again in a moment.")
        try:
            await context.bot.send_message(chat.id, text)
        except TelegramError as exc:
            log.warning("telegram: could not tell chat %s about the error: %s", chat.id, type(exc).__name__)


def addressed_to(text: str | None, username: str) -> bool:
    """A command is for us when it is `/cmd` or `/cmd@our_bot` (not `/cmd@another_bot`)."""
    if not text or not text.startswith("/"):
        return False
    head = text.split(maxsplit=1)[0]
    _command, _at, mention = head.partition("@")
    return not mention or mention.lower() == username.lower()


def deactivate(app: App, external_id: str) -> None:
    """The user blocked the bot: stop queueing messages to this chat until they write again."""
    with transaction(app.session_factory) as session:
        session.execute(
            sql_update(ChannelIdentity)
            .where(ChannelIdentity.channel == CHANNEL, ChannelIdentity.external_id == external_id)
            .values(active=False)
        )


def command_menu(registry: Registry, locale: str) -> list[BotCommand]:
    """The flows' commands with their translated help, in help order (what /help lists)."""
    menu = sorted(
        (f.help_order, f.commands[0], f.help) for f in registry.flows.values() if f.help and f.commands
    )
    with use_locale(locale):
        return [BotCommand(command, _(help_text)[:256]) for _order, command, help_text in menu][:MAX_COMMANDS]


async def register_commands(bot: Bot, registry: Registry, default_locale: str) -> None:
    """setMyCommands for users without a language (the default locale) and per Telegram language."""
    await with_network_retries(lambda: bot.set_my_commands(command_menu(registry, default_locale)))
    for language_code, locale in MENU_LANGUAGES:
        await _set_commands(bot, command_menu(registry, locale), language_code)


async def _set_commands(bot: Bot, commands: list[BotCommand], language_code: str) -> None:
    await with_network_retries(lambda: bot.set_my_commands(commands, language_code=language_code))


def api_urls(base_url: str) -> tuple[str, str]:
    """Bot API and file URLs for a self-hosted Bot API server given by its root (or by `.../bot`)."""
    root = base_url.rstrip("/").removesuffix("/bot")
    return f"{root}/bot", f"{root}/file/bot"


def build_application(
    app: App,
    *,
    clock: Callable[[], datetime] | None = None,
    max_retries: int = 3,
    max_concurrent_updates: int | None = None,
) -> TelegramApplication:
    """The PTB Application for this app's token: AIORateLimiter, chat-ordered concurrency, our handlers."""
    settings = app.settings
    if not settings.telegram_token:
        raise ValueError("TELEGRAM_TOKEN is not set")
    if max_concurrent_updates is None:
        sqlite = is_sqlite(settings.database_url)
        max_concurrent_updates = CONCURRENT_UPDATES_SQLITE if sqlite else CONCURRENT_UPDATES_POSTGRESQL
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_token)
        .rate_limiter(
            AIORateLimiter(overall_max_rate=settings.telegram_rate_per_second, max_retries=max_retries)
        )
        .concurrent_updates(ChatOrderedUpdateProcessor(max_concurrent_updates))
    )
    if settings.telegram_base_url:
        api, files = api_urls(settings.telegram_base_url)
        builder = builder.base_url(api).base_file_url(files)
    application = builder.build()
    adapter = TelegramAdapter(app, clock or app.clock)
    application.add_handler(TypeHandler(Update, adapter.skip_seen), group=-1)
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE, adapter.on_message))
    application.add_handler(CallbackQueryHandler(adapter.on_callback))
    application.add_error_handler(adapter.on_error)
    application.bot_data[ADAPTER_KEY] = adapter
    return application


def is_transient(error: BaseException) -> bool:
    """Network faults and 5xx are worth retrying; a 400 is not."""
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)
