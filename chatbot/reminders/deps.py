"""Functions of other domains (attendance, aid) found lazily, so this domain works before they land."""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_reported: set[str] = set()


def find_function(package: str, name: str, preferred: tuple[str, ...] = ()) -> Callable[..., Any] | None:
    """`package.<module>.name`, trying `preferred` modules first, then every submodule; None if absent."""
    candidates = [f"{package}.{module}" for module in preferred]
    try:
        root = importlib.import_module(package)
    except ModuleNotFoundError:
        root = None
    if root is not None:
        if callable(getattr(root, name, None)):
            return getattr(root, name)  # type: ignore[no-any-return]
        for info in pkgutil.iter_modules(getattr(root, "__path__", [])):
            candidates.append(f"{package}.{info.name}")
    for module_name in dict.fromkeys(candidates):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        function = getattr(module, name, None)
        if callable(function):
            return function  # type: ignore[no-any-return]
    if f"{package}.{name}" not in _reported:
        _reported.add(f"{package}.{name}")
        log.info("%s.*.%s is not available yet; the jobs that need it wait for it", package, name)
    return None


def accepts(function: Callable[..., Any], parameter: str) -> bool:
    try:
        return parameter in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def home_visit_list() -> Callable[..., Any] | None:
    return find_function("chatbot.attendance", "home_visit_list", ("risk",))


def never_returned() -> Callable[..., Any] | None:
    return find_function("chatbot.attendance", "never_returned", ("risk", "reports", "service"))


def close_day() -> Callable[..., Any] | None:
    return find_function("chatbot.attendance", "close_day", ("close", "daily", "service"))


def escalate_cases() -> Callable[..., Any] | None:
    return find_function("chatbot.attendance", "escalate_cases", ("cases", "risk", "escalation"))


def nudge_missing_rollcalls() -> Callable[..., Any] | None:
    return find_function("chatbot.attendance", "nudge_missing_rollcalls", ("nudges", "rollcall", "service"))
