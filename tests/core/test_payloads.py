"""Button payloads: how typed fields pack into a short prefixed string, the 64-byte limit, and how
unpacking refuses anything malformed or forged with BadPayload carrying the raw payload.

The real payload classes of the domains are used (int, str and bool fields); a class of this module's
own is registered only for the duration of one test, so the registry of real buttons stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from chatbot.attendance.payloads import AbsenceAnswer, LeaveDecide, RollPick
from chatbot.core.payloads import MAX_PAYLOAD_BYTES, BadPayload, Payload, prefix_of

# "aba:1:" is 6 bytes, so an answer of 58 characters makes a payload of exactly 64 bytes.
AT_LIMIT = "aba:1:" + "x" * 58
OVER_LIMIT = AT_LIMIT + "x"


def bad_payload_of(raw: str | None) -> tuple[object, ...]:
    """Unpack as a LeaveDecide; return the arguments of the BadPayload it must raise."""
    with pytest.raises(BadPayload) as caught:
        LeaveDecide.unpack(raw)
    return caught.value.args


@pytest.mark.parametrize(
    ("payload", "packed"),
    [
        (LeaveDecide(leave_id=7, approve=True), "lva:7:1"),
        (LeaveDecide(leave_id=7, approve=False), "lva:7:0"),
        (LeaveDecide(leave_id=-3, approve=False), "lva:-3:0"),
        (AbsenceAnswer(record_id=12, answer="sick"), "aba:12:sick"),
        (RollPick(class_id=999999999999), "rck:999999999999"),
    ],
)
def test_a_payload_packs_to_its_prefix_and_fields_and_unpacks_to_the_same_value(
    payload: Payload, packed: str
) -> None:
    assert payload.pack() == packed
    unpacked = type(payload).unpack(packed)
    assert unpacked == payload
    # The fields come back typed, not as the text they were packed into.
    assert [type(v) for v in vars(unpacked).values()] == [type(v) for v in vars(payload).values()]


def test_a_payload_of_exactly_64_bytes_packs_and_unpacks() -> None:
    assert len(AT_LIMIT.encode()) == MAX_PAYLOAD_BYTES
    assert AbsenceAnswer(record_id=1, answer="x" * 58).pack() == AT_LIMIT
    assert AbsenceAnswer.unpack(AT_LIMIT) == AbsenceAnswer(record_id=1, answer="x" * 58)


def test_a_payload_over_64_bytes_is_refused_both_ways() -> None:
    with pytest.raises(ValueError, match=r"^payload 'aba:1:x{59}' is over 64 bytes$"):
        AbsenceAnswer(record_id=1, answer="x" * 59).pack()
    with pytest.raises(BadPayload) as caught:
        AbsenceAnswer.unpack(OVER_LIMIT)
    assert caught.value.args == (OVER_LIMIT,)


def test_a_text_field_with_unsafe_characters_does_not_pack() -> None:
    with pytest.raises(ValueError, match=r"^payload field answer='no way' has unsafe characters$"):
        AbsenceAnswer(record_id=1, answer="no way").pack()
    with pytest.raises(ValueError, match=r"unsafe characters"):
        AbsenceAnswer(record_id=1, answer="sick\n").pack()


@pytest.mark.parametrize("raw", [None, ""])
def test_a_missing_payload_is_refused_as_empty(raw: str | None) -> None:
    assert bad_payload_of(raw) == ("",)


@pytest.mark.parametrize(
    "raw",
    [
        "lva:7",  # a field missing
        "lva:7:1:1",  # a field too many
        "lvx:7:1",  # another button's prefix
        "lva:7:2",  # a bool is 0 or 1
        "lva:7:",
        "lva:7:true",
        "lva:x:1",  # an int is digits
        "lva:1234567890123:1",  # at most 12 of them
        "lva:7.5:1",
        "lva::1",
    ],
)
def test_a_malformed_payload_is_refused_with_the_raw_text(raw: str) -> None:
    assert bad_payload_of(raw) == (raw,)


# A trailing newline too: `$` in a pattern matches just before one, so it must not slip through.
@pytest.mark.parametrize("raw", ["aba:1:bad!", "aba:1:a b", "aba:1:名字", "aba:1:sick\n"])
def test_unsafe_text_in_a_payload_is_refused_with_the_raw_text(raw: str) -> None:
    with pytest.raises(BadPayload) as caught:
        AbsenceAnswer.unpack(raw)
    assert caught.value.args == (raw,)


def test_a_field_its_class_rejects_makes_the_payload_bad(monkeypatch: pytest.MonkeyPatch) -> None:
    # A private copy of the registry: the class below must not join the real buttons.
    monkeypatch.setattr(Payload, "registry", dict(Payload.registry))

    @dataclass(frozen=True)
    class Answer(Payload, prefix="tans"):
        choice: str

        def __post_init__(self) -> None:
            if self.choice not in {"yes", "no"}:
                raise ValueError(self.choice)

    assert Answer.unpack("tans:yes") == Answer(choice="yes")
    with pytest.raises(BadPayload) as caught:
        Answer.unpack("tans:maybe")
    assert caught.value.args == ("tans:maybe",)
    assert isinstance(caught.value.__cause__, ValueError)


@pytest.mark.parametrize(
    ("raw", "prefix"),
    [
        ("lang:en", "lang"),
        ("lva:7:1", "lva"),
        ("rck", "rck"),
        ("go:aid", "go"),
        ("ab:c:d", "ab"),
        ("ZZ:1", None),  # upper case is no prefix
        ("toolong7:1", None),  # over 6 characters
        ("7ab:1", None),  # starts with a digit
        ("a-b:1", None),
        ("", None),
        (None, None),
    ],
)
def test_the_prefix_is_the_text_before_the_first_colon_when_it_is_well_formed(
    raw: str | None, prefix: str | None
) -> None:
    assert prefix_of(raw) == prefix
