"""The eligibility engine: a pure function (profile, pack, on_date) → one result per item.

Nothing here touches the database, the clock or gettext: results carry structured checks that
chatbot.aid.render turns into sentences in the reader's language.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from chatbot.aid.pack import AmountType, Conditions, Item, LocalText, Pack, PackItem, Period, value_on
from db.models import HOUSEHOLD_FLAGS, Stage

COMPULSORY = frozenset({Stage.PRIMARY, Stage.JUNIOR})


class Status(enum.StrEnum):
    ELIGIBLE = "eligible"
    POSSIBLE = "possible"
    NOT_ELIGIBLE = "not_eligible"


class Fact(enum.StrEnum):
    """A fact about the pupil the engine may need; the dialog asks for these by name."""

    STAGE = "stage"
    PRESCHOOL_FINAL_YEAR = "preschool_final_year"
    BOARDING = "boarding"
    IN_PROVINCE = "in_province"
    HOUSEHOLD = "household"


# The order the dialog asks in: most decisive first. Household status settles most items, so a
# family with none of the statuses is not asked about boarding or the province at all.
QUESTION_ORDER = (Fact.STAGE, Fact.PRESCHOOL_FINAL_YEAR, Fact.HOUSEHOLD, Fact.BOARDING, Fact.IN_PROVINCE)


class Outcome(enum.StrEnum):
    MET = "met"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the profile does not say: lean toward inclusion
    CONFIRM = "confirm"  # the bot cannot know (pilot area, grades): the school confirms


@dataclass(frozen=True)
class Profile:
    """What we know about one pupil; None means unknown. household=frozenset() means 'none of these'."""

    stage: Stage | None = None
    preschool_final_year: bool | None = None
    boarding: bool | None = None
    household: frozenset[str] | None = None
    in_province: bool | None = None

    def __post_init__(self) -> None:
        if self.household is not None:
            unknown = set(self.household) - set(HOUSEHOLD_FLAGS)
            if unknown:
                raise ValueError(f"unknown household flags: {sorted(unknown)}")

    def known(self, fact: Fact) -> bool:
        return getattr(self, fact.value) is not None

    def with_fact(self, fact: Fact, value: Any) -> Profile:
        changes: dict[str, Any] = {fact.value: value}
        return replace(self, **changes)


@dataclass(frozen=True)
class Check:
    """One condition of an item, as applied to the profile."""

    fact: Fact | None  # None for a condition only the school can check (`confirm`)
    outcome: Outcome
    # What the item wants: household flags, the stages, or True/False for a yes/no fact.
    wanted: tuple[str, ...] = ()
    text: LocalText | None = None  # the pack's own wording, for `confirm` and `otherwise`


@dataclass(frozen=True)
class Result:
    entry: PackItem
    status: Status
    amount: Decimal | None = None
    max_amount: Decimal | None = None
    period: Period | None = None
    full_waiver: bool = False
    checks: tuple[Check, ...] = ()
    # Why not eligible: the first failed check, or "not in force" (not_yet/ended with the date).
    reason: Check | None = None
    not_in_force: tuple[str, date | None] | None = None
    on: date = field(default=date.min)

    @property
    def item_id(self) -> str:
        return self.entry.id

    @property
    def met(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.outcome == Outcome.MET)

    @property
    def to_confirm(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.outcome in {Outcome.UNKNOWN, Outcome.CONFIRM})


def _yes_no(fact: Fact, wanted: bool | None, known: bool | None) -> Check | None:
    if wanted is None:
        return None
    if known is None:
        return Check(fact, Outcome.UNKNOWN, (str(wanted),))
    return Check(fact, Outcome.MET if known == wanted else Outcome.FAILED, (str(wanted),))


class InForce(NamedTuple):
    """Whether an item runs on a date; if not, why ('not_yet' or 'ended') and from or until when."""

    running: bool
    why: str
    when: date | None


def _in_force(entry: PackItem, stage: Stage | None, on: date) -> InForce:
    """Whether the item runs on `on`; otherwise ('not_yet', start) or ('ended', end)."""
    item = entry.item
    if item.since and on < item.since:
        return InForce(False, "not_yet", item.since)
    if item.until and on > item.until:
        return InForce(False, "ended", item.until)
    series = item.amount.series(stage)
    if series is not None:
        running, _value = value_on(series, on)
        if not running:
            starts = sorted(series)
            if on < starts[0]:
                return InForce(False, "not_yet", starts[0])
            return InForce(False, "ended", max(s for s in starts if s <= on))
    return InForce(True, "", None)


def evaluate_item(profile: Profile, entry: PackItem, on: date) -> Result:
    """One item against one profile on one date."""
    stage_check = _stage_check(profile, entry.item)
    if stage_check.outcome == Outcome.FAILED:
        return Result(entry, Status.NOT_ELIGIBLE, checks=(stage_check,), reason=stage_check, on=on)
    checks = [stage_check]
    not_in_force = _not_in_force(profile, entry, on)
    if not_in_force is not None:
        return Result(entry, Status.NOT_ELIGIBLE, checks=tuple(checks), not_in_force=not_in_force, on=on)
    checks.extend(_condition_checks(profile, entry.item.conditions))
    failed_check = next((c for c in checks if c.outcome == Outcome.FAILED), None)
    if failed_check is not None:
        return Result(entry, Status.NOT_ELIGIBLE, checks=tuple(checks), reason=failed_check, on=on)
    return _open_result(profile, entry, on, checks)


def _stage_check(profile: Profile, item: Item) -> Check:
    """The profile's stage against the item's stages."""
    stages = tuple(s.value for s in item.stages)
    if profile.stage is None:
        return Check(Fact.STAGE, Outcome.UNKNOWN, stages)
    if profile.stage not in item.stages:
        return Check(Fact.STAGE, Outcome.FAILED, stages)
    return Check(Fact.STAGE, Outcome.MET, (profile.stage.value,))


def _not_in_force(profile: Profile, entry: PackItem, on: date) -> tuple[str, date | None] | None:
    """None if the item runs on `on`, else why not and since or until when."""
    # With the stage unknown, an item counts as running if it runs for any of its stages.
    probe = [profile.stage] if profile.stage else list(entry.item.stages)
    runs = [_in_force(entry, stage, on) for stage in probe]
    if any(run.running for run in runs):
        return None
    return runs[0].why, runs[0].when


def _condition_checks(profile: Profile, cond: Conditions) -> list[Check]:
    """The item's yes/no, household and confirm conditions, in that order."""
    checks: list[Check] = []
    for fact, wanted, known in (
        (Fact.PRESCHOOL_FINAL_YEAR, cond.preschool_final_year, profile.preschool_final_year),
        (Fact.BOARDING, cond.boarding, profile.boarding),
        (Fact.IN_PROVINCE, cond.in_province, profile.in_province),
    ):
        check = _yes_no(fact, wanted, known)
        if check is not None:
            checks.append(check)
    if cond.household_any:
        checks.append(_household_check(profile, cond))
    if cond.confirm is not None:
        checks.append(Check(None, Outcome.CONFIRM, (), cond.confirm))
    return checks


def _household_check(profile: Profile, cond: Conditions) -> Check:
    """The profile's household flags against the item's `household_any`."""
    flags = tuple(cond.household_any)
    if profile.household is None:
        return Check(Fact.HOUSEHOLD, Outcome.UNKNOWN, flags)
    if set(flags) & profile.household:
        matched = tuple(f for f in flags if f in profile.household)
        return Check(Fact.HOUSEHOLD, Outcome.MET, matched)
    if cond.otherwise is not None:
        return Check(Fact.HOUSEHOLD, Outcome.CONFIRM, flags, cond.otherwise)
    return Check(Fact.HOUSEHOLD, Outcome.FAILED, flags)


def _open_result(profile: Profile, entry: PackItem, on: date, checks: list[Check]) -> Result:
    """Eligible or possible, with the amount when the stage is known."""
    item = entry.item
    amount: Decimal | None = None
    maximum: Decimal | None = None
    if profile.stage is not None:
        _, amount = value_on(item.amount.series(profile.stage), on)
        _, maximum = value_on(item.amount.max, on)
    if item.amount.type == AmountType.CEILING:
        amount, maximum = None, amount
    status = Status.POSSIBLE if any(c.outcome != Outcome.MET for c in checks) else Status.ELIGIBLE
    return Result(
        entry,
        status,
        amount=amount,
        max_amount=maximum,
        period=item.amount.period,
        full_waiver=item.amount.type == AmountType.FULL,
        checks=tuple(checks),
        on=on,
    )


def evaluate(profile: Profile, pack: Pack, on: date) -> list[Result]:
    """Every item of the pack, in pack order: eligible, possible or not eligible with the reason."""
    return [evaluate_item(profile, entry, on) for entry in pack.items]


def open_questions(profile: Profile, pack: Pack, on: date) -> list[Fact]:
    """The unknown facts whose answer can change some item's result, in the order to ask them."""
    needed: set[Fact] = set()
    for result in evaluate(profile, pack, on):
        if result.status == Status.NOT_ELIGIBLE:
            continue
        needed.update(c.fact for c in result.checks if c.outcome == Outcome.UNKNOWN and c.fact is not None)
    return [fact for fact in QUESTION_ORDER if fact in needed]


def relevant_facts(stage: Stage, pack: Pack, on: date) -> set[Fact]:
    """Facts any item for this stage depends on (to ignore, e.g., boarding said of a university student)."""
    facts: set[Fact] = set()
    for result in evaluate(Profile(stage=stage), pack, on):
        if result.status != Status.NOT_ELIGIBLE:
            facts.update(c.fact for c in result.checks if c.fact is not None and c.fact != Fact.STAGE)
    return facts


def items_opening(pack: Pack, month: int, on: date, stages: Iterable[Stage] | None = None) -> list[PackItem]:
    """Items in force on `on` whose applications usually open in `month` (for reminder domains)."""
    wanted = set(stages) if stages is not None else None
    found = []
    for entry in pack.items:
        if entry.item.opens_month != month:
            continue
        if wanted is not None and not wanted & set(entry.item.stages):
            continue
        if any(_in_force(entry, stage, on).running for stage in entry.item.stages):
            found.append(entry)
    return found
