"""Button payloads of the /aid dialog (prefixes aid*), and the profile code its detail buttons carry."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from chatbot.aid.engine import Fact, Profile
from chatbot.core.payloads import BadPayload, Payload
from db.models import HOUSEHOLD_FLAGS, Stage

STAGES = list(Stage)


class Answer(enum.StrEnum):
    """An answer to a yes/no question."""

    YES = "1"
    NO = "0"
    UNSURE = "x"

    @property
    def known(self) -> bool | None:
        return None if self is Answer.UNSURE else self is Answer.YES


class HouseholdChoice(enum.StrEnum):
    """A household flag to toggle (the values of HOUSEHOLD_FLAGS), or how the question ends."""

    REGISTERED_POOR = "registered_poor"
    DIBAO = "dibao"
    TEKUN = "tekun"
    ORPHAN = "orphan"
    DISABLED = "disabled"
    NONE = "none"
    DONE = "done"
    UNSURE = "unsure"


if not set(HOUSEHOLD_FLAGS) <= {c.value for c in HouseholdChoice}:
    raise RuntimeError("HouseholdChoice must list every household flag")


@dataclass(frozen=True)
class AidChild(Payload, prefix="aidk"):
    """Which child the question is about; 0 = someone else."""

    student_id: int


@dataclass(frozen=True)
class AidStage(Payload, prefix="aids"):
    """The child's stage."""

    stage: Stage


@dataclass(frozen=True)
class AidFact(Payload, prefix="aidf"):
    """An answer to a yes/no fact (one of YES_NO_FACTS)."""

    fact: Fact
    value: Answer


@dataclass(frozen=True)
class AidHousehold(Payload, prefix="aidh"):
    """Toggle a household flag, or 'none', 'done', 'unsure'."""

    choice: HouseholdChoice


@dataclass(frozen=True)
class AidClearTicks(Payload, prefix="aidc"):
    """The answer to "you ticked …: clear it and go on with 'none of these' / 'not sure'?".

    `ending` is the button that asked (NONE or UNSURE); `clear` False keeps the ticks."""

    ending: HouseholdChoice
    clear: bool

    def __post_init__(self) -> None:
        if self.ending not in CLEARING_ENDINGS:
            raise ValueError(self.ending)


# The endings that would discard ticked household flags, so they are confirmed first.
CLEARING_ENDINGS = (HouseholdChoice.NONE, HouseholdChoice.UNSURE)


@dataclass(frozen=True)
class AidDetail(Payload, prefix="aidd"):
    """Details of one item for one profile (encoded by encode_profile) in one pack."""

    item: str
    pack_id: str
    profile: str


# --- the profile in detail buttons -----------------------------------------------------------------


def _tri(value: bool | None) -> str:
    return "x" if value is None else ("1" if value else "0")


def _untri(text: str) -> bool | None:
    if text not in {"0", "1", "x"}:
        raise BadPayload(text)
    return None if text == "x" else text == "1"


def encode_profile(profile: Profile) -> str:
    """Six characters: stage index, final year, boarding, in-province, household bitmask (hex) or 'x'."""
    stage = "x" if profile.stage is None else str(STAGES.index(profile.stage))
    if profile.household is None:
        household = "xx"
    else:
        household = f"{sum(1 << i for i, f in enumerate(HOUSEHOLD_FLAGS) if f in profile.household):02x}"
    return (
        stage
        + _tri(profile.preschool_final_year)
        + _tri(profile.boarding)
        + _tri(profile.in_province)
        + household
    )


def decode_profile(code: str) -> Profile:
    """The profile encode_profile wrote; BadPayload for anything it cannot have written."""
    if len(code) != 6:
        raise BadPayload(code)
    stage: Stage | None = None
    if code[0] != "x":
        if not code[0].isdecimal() or int(code[0]) >= len(STAGES):
            raise BadPayload(code)
        stage = STAGES[int(code[0])]
    household: frozenset[str] | None = None
    if code[4:] != "xx":
        try:
            mask = int(code[4:], 16)
        except ValueError as exc:
            raise BadPayload(code) from exc
        if mask >= 1 << len(HOUSEHOLD_FLAGS):
            raise BadPayload(code)
        household = frozenset(f for i, f in enumerate(HOUSEHOLD_FLAGS) if mask & (1 << i))
    return Profile(
        stage=stage,
        preschool_final_year=_untri(code[1]),
        boarding=_untri(code[2]),
        in_province=_untri(code[3]),
        household=household,
    )
