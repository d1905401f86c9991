"""Logging with personal data redacted: phone numbers, invite codes and Chinese names never reach a log."""

from __future__ import annotations

import logging
import re
from pathlib import Path

_PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)")
_CODE = re.compile(r"\b[A-HJ-NP-Y3-9]{8}\b")
# Names in this product are Chinese; log text is English, so any Han run is treated as personal.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def redact(text: str) -> str:
    text = _PHONE.sub("[phone]", text)
    text = _CODE.sub("[code]", text)
    return _HAN.sub("[name]", text)


_installed = False


def install_record_redaction() -> None:
    """Redact every log record where it is made, so no handler (ours, pytest's, a library's) sees PII.

    Tracebacks are rendered and redacted here too: exception messages can carry SQL parameters.
    """
    global _installed
    if _installed:
        return
    base_factory = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = base_factory(*args, **kwargs)
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Exceptions can carry user text in their message; keep the type and traceback only.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def configure_logging(level: str = "INFO", file: Path | None = None) -> None:
    """Redacted logs to standard error, or appended to `file` (the console chat keeps its screen clean)."""
    install_record_redaction()
    handler: logging.Handler
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(file, encoding="utf-8")
    else:
        handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler", "telegram.ext.Updater", "aiohttp.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def install_redaction_everywhere() -> None:
    """Put the redacting filter on every handler of the root logger (tests' capture handlers too)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
