"""A fake Telegram Bot API server on 127.0.0.1 for tests and benchmarks.

python-telegram-bot talks to it through `base_url`, so every answer is a complete Bot API object
that PTB parses exactly as it parses Telegram's. The fake queues user messages and button presses
for `getUpdates` (offset and long-poll timeout semantics), records every call the bot makes, and
can be told to fail a method with 429 (retry_after), 403 (blocked) or 5xx.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_USER_ID = 7000001
# Parameters PTB sends JSON-encoded inside form fields.
JSON_FIELDS = {
    "chat_id",
    "message_id",
    "reply_markup",
    "offset",
    "limit",
    "timeout",
    "allowed_updates",
    "commands",
    "scope",
    "show_alert",
    "drop_pending_updates",
    "max_connections",
    "reply_parameters",
    "link_preview_options",
    "entities",
}


SENDING_METHODS = {"sendMessage", "editMessageText", "sendPhoto", "sendDocument"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int = 200
    result: Any = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def keyboard(self) -> list[list[dict[str, Any]]]:
        markup = self.params.get("reply_markup") or {}
        return list(markup.get("inline_keyboard", []))


@dataclass
class Failure:
    method: str | None
    status: int
    times: int
    retry_after: int | None = None
    chat_id: int | None = None
    description: str | None = None


@dataclass
class FakeBotApi:
    token: str = "123456:TEST-token_for-the-fake"
    username: str = "jiaxiao_test_bot"
    calls: list[Call] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=lambda: {"url": "", "secret_token": None})
    blocked: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._again: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._callback_ids = itertools.count(1)
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._failures: list[Failure] = []
        # Per chat: how many messages the bot sent or edited, and its last message with buttons.
        self._sent_count: dict[int, int] = {}
        self._sent_events: dict[int, asyncio.Event] = {}
        self._last_keyboard: dict[int, int] = {}
        self._changed: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.port = 0

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> str:
        self._changed = asyncio.Condition()
        web_app = web.Application(client_max_size=50 * 1024 * 1024)
        web_app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self.base_url

    async def stop(self) -> None:
        # Long polls still open from a bot that went away must not hold the server's shutdown.
        self._closing = True
        self._notify()
        await asyncio.sleep(0)
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """What TELEGRAM_BASE_URL would hold for a self-hosted Bot API server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": BOT_USER_ID,
            "is_bot": True,
            "first_name": "Jiaxiao",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    # --- what users do --------------------------------------------------------------------

    def user(self, user_id: int, language_code: str | None = "zh-hans") -> dict[str, Any]:
        found = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        if language_code:
            found["language_code"] = language_code
        self._users[user_id] = found
        return found

    def chat(self, chat_id: int, chat_type: str = "private") -> dict[str, Any]:
        if chat_id not in self._chats:
            if chat_type == "private":
                self._chats[chat_id] = {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
            else:
                self._chats[chat_id] = {"id": chat_id, "type": chat_type, "title": "Class 3 parents"}
        return self._chats[chat_id]

    def message_update(
        self,
        chat_id: int,
        text: str,
        *,
        language_code: str | None = "zh-hans",
        chat_type: str = "private",
        user_id: int | None = None,
    ) -> dict[str, Any]:
        """A complete `message` update (not queued: the webhook tests post it themselves)."""
        sender = self.user(user_id or (chat_id if chat_type == "private" else 424242), language_code)
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat(chat_id, chat_type),
            "from": sender,
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return {"update_id": next(self._update_ids), "message": message}

    def inject_message(self, chat_id: int, text: str, **kwargs: Any) -> dict[str, Any]:
        update = self.message_update(chat_id, text, **kwargs)
        self._queue(update)
        return update

    def inject_callback(
        self,
        chat_id: int,
        data: str,
        *,
        message_id: int | None = None,
        language_code: str | None = "zh-hans",
    ) -> dict[str, Any]:
        """A button press on `message_id` (default: the last message the bot sent there with buttons)."""
        if message_id is None:
            message_id = self.last_keyboard_message_id(chat_id)
        if message_id is None:
            message_id = self._store_message(
                chat_id, "…", {"inline_keyboard": [[{"text": "…", "callback_data": data}]]}
            )["message_id"]
        message = self._messages[(chat_id, message_id)]
        query = {
            "id": str(next(self._callback_ids)),
            "from": self.user(chat_id, language_code),
            "chat_instance": f"ci{chat_id}",
            "message": message,
            "data": data,
        }
        update = {"update_id": next(self._update_ids), "callback_query": query}
        self._queue(update)
        return update

    def redeliver(self, update: dict[str, Any]) -> None:
        """Serve an update again, already confirmed or not (as Telegram does after a lost offset)."""
        self._again.append(update)
        self._notify()

    def last_keyboard_message_id(self, chat_id: int) -> int | None:
        return self._last_keyboard.get(chat_id)

    def first_button(self, chat_id: int) -> str | None:
        """The callback data of the first button on the bot's last keyboard in this chat."""
        message_id = self._last_keyboard.get(chat_id)
        if message_id is None:
            return None
        return str(
            self._messages[(chat_id, message_id)]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        )

    def sent_count(self, chat_id: int) -> int:
        """Messages sent or edited by the bot in this chat (cheap, for load drivers)."""
        return self._sent_count.get(chat_id, 0)

    async def wait_sent(self, chat_id: int, count: int, timeout: float = 30.0) -> None:
        async def wait() -> None:
            while self._sent_count.get(chat_id, 0) < count:
                event = self._sent_events.setdefault(chat_id, asyncio.Event())
                await event.wait()

        await asyncio.wait_for(wait(), timeout)

    def _count_sent(self, chat_id: int) -> None:
        self._sent_count[chat_id] = self._sent_count.get(chat_id, 0) + 1
        event = self._sent_events.pop(chat_id, None)
        if event is not None:
            event.set()

    def _track_keyboard(self, message: dict[str, Any]) -> None:
        chat_id, message_id = message["chat"]["id"], message["message_id"]
        if message.get("reply_markup", {}).get("inline_keyboard"):
            if message_id >= self._last_keyboard.get(chat_id, 0):
                self._last_keyboard[chat_id] = message_id
        elif self._last_keyboard.get(chat_id) == message_id:
            del self._last_keyboard[chat_id]

    def _queue(self, update: dict[str, Any]) -> None:
        self._updates.append(update)
        self._notify()

    # --- failure injection -----------------------------------------------------------------

    def fail(
        self,
        method: str | None,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        chat_id: int | None = None,
        description: str | None = None,
    ) -> None:
        self._failures.append(Failure(method, status, times, retry_after, chat_id, description))

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: every send to that chat answers 403."""
        self.blocked.add(chat_id)

    # --- what the bot did ------------------------------------------------------------------

    def sent(self, chat_id: int | None = None, methods: tuple[str, ...] = ("sendMessage",)) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.ok and c.method in methods and (chat_id is None or c.chat_id == chat_id)
        ]

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def pending_updates(self) -> int:
        return len(self._updates)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        assert self._changed is not None
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    def _notify(self) -> None:
        changed = self._changed
        if changed is None:
            return

        async def notify() -> None:
            async with changed:
                changed.notify_all()

        asyncio.get_running_loop().create_task(notify())

    # --- the HTTP side ---------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = await request.read()
            return dict(json.loads(body)) if body else {}
        params: dict[str, Any] = {}
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = {
                    "filename": value.filename,
                    "content_type": value.content_type,
                    "content": value.file.read(),
                }
            elif key in JSON_FIELDS:
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    params[key] = value
            else:
                params[key] = value
        for key, value in list(params.items()):
            # PTB uploads files as attach://name references.
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = params.pop(value.removeprefix("attach://"), value)
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        params = await self._params(request)
        call = Call(method, params)
        failure = self._failure_for(method, call.chat_id)
        if failure is not None:
            call.status = failure.status
            self.calls.append(call)
            self._notify()
            return _error(
                failure.status, failure.description or _DESCRIPTIONS[failure.status], failure.retry_after
            )
        if call.chat_id is not None and call.chat_id in self.blocked and method != "getChat":
            call.status = 403
            self.calls.append(call)
            self._notify()
            return _error(403, "Forbidden: bot was blocked by the user")
        if method == "getUpdates":
            # Recorded before the long poll, so tests see at once that the bot is polling.
            self.calls.append(call)
            self._notify()
            call.result = await self._get_updates(params, request)
            return web.json_response({"ok": True, "result": call.result})
        else:
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                return _error(404, "Not Found")
            try:
                result = handler(params)
            except _ApiError as exc:
                call.status = exc.status
                self.calls.append(call)
                self._notify()
                return _error(exc.status, exc.description)
        call.result = result
        self.calls.append(call)
        if method in SENDING_METHODS and call.chat_id is not None:
            self._count_sent(call.chat_id)
        if isinstance(result, dict) and "message_id" in result:
            self._track_keyboard(result)
        self._notify()
        return web.json_response({"ok": True, "result": result})

    def _failure_for(self, method: str, chat_id: int | None) -> Failure | None:
        for failure in self._failures:
            if failure.times <= 0:
                continue
            if failure.method not in (None, method):
                continue
            if failure.chat_id is not None and failure.chat_id != chat_id:
                continue
            failure.times -= 1
            return failure
        return None

    async def _get_updates(self, params: dict[str, Any], request: web.Request) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        if offset:
            # Asking for `offset` confirms every update before it: Telegram forgets them.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and not self._again and timeout > 0:
            assert self._changed is not None
            try:
                async with self._changed:
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: bool(self._updates or self._again) or self._closing),
                        timeout,
                    )
            except TimeoutError:
                return []
        if request.transport is None or request.transport.is_closing():
            return []  # a long poll of a bot that stopped: what it would take must wait for the next
        again, self._again = self._again, []
        return (again + self._updates)[:limit]

    def _store_message(self, chat_id: int, text: str, markup: Any, **extra: Any) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": self.bot_user,
            **extra,
        }
        if text:
            message["caption" if extra else "text"] = text
        if markup:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        return message

    def _existing(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self._messages:
            raise _ApiError(400, "Bad Request: message to edit not found")
        return self._messages[key]

    def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = str(params.get("text", ""))
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        return self._store_message(int(params["chat_id"]), text, params.get("reply_markup"))

    def _m_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        photo = {"file_id": "photo-1", "file_unique_id": "uphoto1", "width": 800, "height": 600}
        return self._store_message(
            int(params["chat_id"]), str(params.get("caption", "")), params.get("reply_markup"), photo=[photo]
        )

    def _m_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        upload = params.get("document")
        name = upload["filename"] if isinstance(upload, dict) else "file"
        document = {"file_id": "doc-1", "file_unique_id": "udoc1", "file_name": name}
        return self._store_message(
            int(params["chat_id"]),
            str(params.get("caption", "")),
            params.get("reply_markup"),
            document=document,
        )

    def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._existing(params)
        markup = params.get("reply_markup")
        if message.get("text") == params.get("text") and message.get("reply_markup") == markup:
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message",
            )
        message["text"] = params.get("text")
        message["edit_date"] = int(time.time())
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return message

    def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._existing(params)
        markup = params.get("reply_markup")
        if markup and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        return message

    def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    def _m_setMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    def _m_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {"url": "", "secret_token": None}
        return True

    def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {"url": params.get("url", ""), "secret_token": params.get("secret_token")}
        return True

    def _m_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.webhook["url"], "has_custom_certificate": False, "pending_update_count": 0}

    def _m_close(self, params: dict[str, Any]) -> bool:
        return True


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    403: "Forbidden: bot was blocked by the user",
    429: "Too Many Requests: retry after 1",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)
