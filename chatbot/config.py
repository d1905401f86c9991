"""Settings from the environment or .env (pydantic-settings); bad values fail with one clear line."""

from __future__ import annotations

import sys
from datetime import time
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SUPPORTED_LOCALES = ("zh_Hans", "zh_Hant", "en")


class ConfigError(Exception):
    """A setting is invalid; the message names it and is shown to the operator as one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = "sqlite:///data/jiaxiao.db"
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh_Hans"
    telegram_token: str | None = None
    telegram_base_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    quiet_hours_start: time = time(21, 0)
    quiet_hours_end: time = time(7, 0)
    telegram_rate_per_second: float = Field(default=30.0, gt=0)
    telegram_rate_per_chat_per_second: float = Field(default=1.0, gt=0)
    # Messages a delivery worker may have sent but not yet recorded: the most one crash can duplicate.
    delivery_in_flight: int = Field(default=1, ge=1, le=100)
    wechat_app_id: str | None = None
    wechat_token: str | None = None
    wechat_aes_key: str | None = None
    wechat_secret: str | None = None
    wechat_api_base_url: str = "https://api.weixin.qq.com/"
    wechat_listen: str = "127.0.0.1"
    wechat_port: int = Field(default=8080, ge=1, le=65535)
    invite_valid_days: int = Field(default=30, ge=1, le=365)
    # Catch-up window of the scheduler (calendar issue): older due reminders are recorded as missed.
    reminder_grace_hours: float = Field(default=6.0, ge=0, le=168)
    log_level: str = "INFO"
    # Where logs go; unset: standard error, except in the console chat, which logs to data/console.log.
    log_file: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("default_locale")
    @classmethod
    def _supported_locale(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value.upper()


def load_settings() -> Settings:
    """Read settings, turning a validation error into a ConfigError that names the setting."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise ConfigError(f"configuration error: {name}: {first['msg']}") from None


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings()


def exit_on_bad_config() -> Settings:
    """For entry points: one line on stderr and exit code 2 instead of a traceback."""
    try:
        return load_settings()
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(2) from None
