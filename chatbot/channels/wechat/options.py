"""WeChat-only settings, read from the same environment / .env as chatbot.config.Settings.

The shared settings (WECHAT_APP_ID, WECHAT_TOKEN, WECHAT_AES_KEY, WECHAT_SECRET, WECHAT_API_BASE_URL,
WECHAT_LISTEN, WECHAT_PORT) live in chatbot.config; what only this channel needs lives here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chatbot.config import ConfigError

# Old-style ("first/keyword1/keyword2/remark") template fields; new templates name theirs e.g. thing1, time2.
DEFAULT_TEMPLATE_FIELDS = "first=title,keyword1=summary,keyword2=time,remark=hint"
TEMPLATE_PARTS = ("title", "summary", "time", "hint")


class WeChatOptions(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WECHAT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # mp: an Official Account (服务号); wecom: a WeCom (企业微信) self-built app.
    mode: Literal["mp", "wecom"] = "mp"
    agent_id: int | None = None
    path: str = "/wechat"
    template_alert: str | None = None
    template_reminder: str | None = None
    template_notice: str | None = None
    # Explicit kind → template id, as JSON, e.g. {"leave_request": "TEMPLATE_ID"}; wins over the three above.
    templates: dict[str, str] = Field(default_factory=dict)
    template_fields: str = DEFAULT_TEMPLATE_FIELDS
    template_summary_chars: int = Field(default=60, ge=10, le=200)
    # WeChat waits 5 s for a passive reply; leave a margin for the network.
    passive_timeout: float = Field(default=4.0, gt=0, le=4.5)
    max_body: int = Field(default=32 * 1024, ge=1024, le=1024 * 1024)
    # Customer-service messages are allowed for 48 h after the user's last message; keep a margin.
    window_hours: float = Field(default=47.5, gt=0, le=48)
    http_timeout: float = Field(default=10.0, gt=0, le=60)
    # Threads for callbacks (database work) and, separately, for outbox sends (HTTP to WeChat).
    # Unset: 2 on SQLite (one writer at a time; queueing in Python beats SQLite's busy-wait backoff), 8 otherwise.
    callback_threads: int | None = Field(default=None, ge=1, le=64)
    send_threads: int = Field(default=8, ge=1, le=64)

    @field_validator("path")
    @classmethod
    def _absolute_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with /")
        return value

    @field_validator("template_fields")
    @classmethod
    def _fields(cls, value: str) -> str:
        template_field_map(value)
        return value

    def field_map(self) -> dict[str, str]:
        return template_field_map(self.template_fields)

    def template_for(self, kind: str) -> str | None:
        """The template id for an outbox kind: the explicit map first, then alert/reminder/notice."""
        if kind in self.templates:
            return self.templates[kind]
        category = template_category(kind)
        if category == "alert":
            return self.template_alert or self.template_notice
        if category == "reminder":
            return self.template_reminder or self.template_notice
        return self.template_notice


def template_category(kind: str) -> str:
    """Outbox kinds ('attendance.absence_alert', 'notice_reminder'…) → alert, reminder or notice."""
    lowered = kind.lower()
    if any(word in lowered for word in ("remind", "nudge")):
        return "reminder"
    if any(
        word in lowered for word in ("alert", "absence", "escalat", "case", "dropout", "missing", "leave")
    ):
        return "alert"
    return "notice"


def template_field_map(spec: str) -> dict[str, str]:
    """'first=title,keyword1=summary' → {'first': 'title', 'keyword1': 'summary'}."""
    mapping: dict[str, str] = {}
    for part in spec.split(","):
        name, sep, what = part.strip().partition("=")
        if not sep or not name or what not in TEMPLATE_PARTS:
            raise ValueError(f"each entry must be FIELD=one of {'/'.join(TEMPLATE_PARTS)}, got {part!r}")
        mapping[name.strip()] = what
    return mapping


def load_options() -> WeChatOptions:
    try:
        return WeChatOptions()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "WECHAT_" + str(first["loc"][0]).upper() if first["loc"] else "WECHAT settings"
        raise ConfigError(f"configuration error: {name}: {first['msg']}") from None
