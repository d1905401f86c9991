"""The Telegram channel runtime: `configured`, `serve` (long polling or webhook) and `sender`.

One PTB Application per App: `serve` runs it and `sender` hands the delivery worker its Bot,
so replies and outbox messages share one rate limiter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError
from telegram.error import InvalidToken, TelegramError

from chatbot.app import App
from chatbot.channels.telegram.handlers import (
    ADAPTER_KEY,
    ALLOWED_UPDATES,
    TelegramAdapter,
    TelegramApplication,
    build_application,
    is_transient,
    register_commands,
)
from chatbot.channels.telegram.sender import TelegramSender, rate_limit
from chatbot.channels.telegram.updates import purge
from chatbot.config import ConfigError, Settings

log = logging.getLogger(__name__)

POLL_TIMEOUT = 30.0
START_RETRY_MAX = 60.0
PURGE_EVERY_SECONDS = 3600
SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

_applications: dict[int, TelegramApplication] = {}


def configured(settings: Settings) -> bool:
    return bool(settings.telegram_token)


def check_settings(settings: Settings) -> str | None:
    """The first problem with the Telegram settings, as one line for the operator, or None."""
    if not settings.telegram_token:
        return "TELEGRAM_TOKEN is not set"
    if settings.webhook_url:
        parts = urlsplit(settings.webhook_url)
        if parts.scheme != "https" or not parts.netloc:
            return "WEBHOOK_URL must be an https:// URL (Telegram only calls HTTPS webhooks)"
    if settings.webhook_secret and not SECRET_TOKEN.match(settings.webhook_secret):
        return "WEBHOOK_SECRET may only hold 1-256 characters A-Z, a-z, 0-9, _ and -"
    return None


def application_for(app: App, **options: object) -> TelegramApplication:
    """The one Application for this App (built on first use)."""
    key = id(app)
    if key not in _applications:
        _applications[key] = build_application(app, **options)  # type: ignore[arg-type]
    return _applications[key]


def sender(app: App) -> TelegramSender | None:
    if not configured(app.settings):
        return None
    return TelegramSender(application_for(app).bot, rate_limit(app.settings))


async def serve(
    app: App,
    stop: asyncio.Event,
    *,
    clock: Callable[[], datetime] | None = None,
    poll_timeout: float = POLL_TIMEOUT,
    max_retries: int = 3,
) -> None:
    """Run the bot until `stop` is set: long polling, or a webhook server when WEBHOOK_URL is set."""
    settings = app.settings
    problem = check_settings(settings)
    if problem:
        raise ConfigError(f"configuration error: {problem}")
    clock = clock or app.clock
    application = application_for(app, clock=clock, max_retries=max_retries)
    try:
        if not await _initialize(application, stop):
            return
        try:
            await register_commands(application.bot, app.router.registry, settings.default_locale)
        except TelegramError as exc:
            log.warning("telegram: command menu not registered: %s", type(exc).__name__)
        await application.start()
        updater = application.updater
        assert updater is not None
        if settings.webhook_url:
            await _start_webhook(application, settings)
        else:
            await updater.start_polling(
                timeout=timedelta(seconds=poll_timeout), allowed_updates=ALLOWED_UPDATES
            )
            log.info("telegram: polling as @%s", application.bot.username)
        await _purge_until(app, stop, clock)
        if updater.running:
            await updater.stop()
        await application.stop()
    finally:
        if application.running:
            await application.stop()
        await application.shutdown()
        adapter = application.bot_data.get(ADAPTER_KEY)
        if isinstance(adapter, TelegramAdapter):
            adapter.close()
        _applications.pop(id(app), None)


async def _purge_until(app: App, stop: asyncio.Event, clock: Callable[[], datetime]) -> None:
    """Forget old update ids every hour until `stop` is set."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(purge, app.session_factory, clock())
        except SQLAlchemyError as exc:
            log.warning("telegram: old update ids not purged: %s", type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=PURGE_EVERY_SECONDS)


async def _initialize(application: TelegramApplication, stop: asyncio.Event) -> bool:
    """getMe until the Bot API answers (it may be down at boot); False if stopped meanwhile."""
    delay = 1.0
    while not stop.is_set():
        try:
            await application.initialize()
            return True
        except InvalidToken as exc:
            raise ConfigError("configuration error: TELEGRAM_TOKEN was rejected by the Bot API") from exc
        except TelegramError as exc:
            if not is_transient(exc):
                raise
            log.warning("telegram: Bot API unreachable (%s); retrying in %.0f s", type(exc).__name__, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, START_RETRY_MAX)
    return False


# Far above any real update (a message is at most 4,096 characters), far below a memory problem.
MAX_WEBHOOK_BODY = 1024 * 1024


async def _start_webhook(application: TelegramApplication, settings: Settings) -> None:
    """PTB's webhook server: it answers 403 to any request without our secret token."""
    assert settings.webhook_url and application.updater is not None
    # Without a configured secret a fresh one per start is as good: we call setWebhook ourselves.
    secret = settings.webhook_secret or secrets.token_urlsafe(32)
    await application.updater.start_webhook(
        listen=settings.webhook_listen,
        port=settings.webhook_port,
        url_path=urlsplit(settings.webhook_url).path.strip("/"),
        webhook_url=settings.webhook_url,
        secret_token=secret,
        allowed_updates=ALLOWED_UPDATES,
    )
    # PTB's tornado server would buffer bodies up to 100 MB before checking the secret; updates are small.
    http_server = getattr(getattr(application.updater, "_httpd", None), "_http_server", None)
    if http_server is not None:
        http_server.conn_params.max_body_size = MAX_WEBHOOK_BODY
    log.info(
        "telegram: webhook listening on %s:%s for %s",
        settings.webhook_listen,
        settings.webhook_port,
        settings.webhook_url,
    )
