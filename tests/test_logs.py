"""Log redaction: phone numbers, invite codes and Han names never reach a log line in clear."""

from __future__ import annotations

import logging

import pytest

from chatbot.logs import redact
from chatbot.people.invites import new_code

PHONES = [
    "13812345678",
    "+8613812345678",
    "+86 13812345678",
    "+86-138-1234-5678",
    "8613812345678",
    "138 1234 5678",
    "138-1234-5678",
    "19912345678",
]


@pytest.mark.parametrize("phone", PHONES)
def test_redact_replaces_a_phone_number_however_it_is_written(phone: str) -> None:
    assert redact(f"guardian phone={phone}; retrying") == "guardian phone=[phone]; retrying"


@pytest.mark.parametrize(
    "text",
    [
        "12345678901",  # 11 digits, but no mainland mobile starts with 12
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits: part of a longer number, not a phone
        "order 4200 took 13 ms",
    ],
)
def test_redact_leaves_numbers_that_are_not_phones(text: str) -> None:
    assert redact(text) == text


def test_redact_replaces_invite_codes_and_han_names() -> None:
    code = new_code()
    assert (
        redact(f"code {code} tried by 王建国 (李芳's child)")
        == "code [code] tried by [name] ([name]'s child)"
    )
    # A code inside a longer word is not a code.
    assert redact(f"X{code}") == f"X{code}"


def test_a_record_with_a_phone_in_its_args_is_redacted_where_it_is_made(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("chatbot.test_logs")
    with caplog.at_level(logging.INFO, logger="chatbot.test_logs"):
        logger.info("could not reach guardian %s (%s) for pupil %d", "+86 138-1234-5678", "王建国", 7)
    record = next(r for r in caplog.records if r.name == "chatbot.test_logs")
    assert record.getMessage() == "could not reach guardian [phone] ([name]) for pupil 7"
    assert "[phone]" in caplog.text and "1234" not in caplog.text


def test_a_traceback_carrying_a_phone_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("chatbot.test_logs")
    with caplog.at_level(logging.INFO, logger="chatbot.test_logs"):
        try:
            raise ValueError("duplicate key (phone)=(13912345678)")
        except ValueError:
            logger.exception("import failed")
    record = next(r for r in caplog.records if r.name == "chatbot.test_logs")
    assert record.exc_text is not None
    assert "ValueError: duplicate key (phone)=([phone])" in record.exc_text
    assert "13912345678" not in caplog.text
