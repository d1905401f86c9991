"""Policy packs: YAML data validated with pydantic, with parent packs and OpenFisca-style dated values.

A pack is `chatbot/aid/packs/<id>.yaml`. `load_pack(id)` returns it with its parent's items merged in
(an item with the same id overrides the parent's). A bad pack raises PackError naming the file, the
item and the field, so a typo fails at start and never in front of a parent.
"""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from db.models import HOUSEHOLD_FLAGS, Stage

PACK_DIR = Path(__file__).resolve().parent / "packs"
FALLBACK_PACK = "national"
HouseholdFlag = Literal["registered_poor", "dibao", "tekun", "orphan", "disabled"]
assert set(HouseholdFlag.__args__) == set(HOUSEHOLD_FLAGS)  # type: ignore[attr-defined]


class PackError(ValueError):
    """A pack file is missing or invalid; the message names file, item and field."""


class Kind(enum.StrEnum):
    GRANT = "grant"
    WAIVER = "waiver"
    SUBSIDY = "subsidy"
    LOAN = "loan"
    SCHOLARSHIP = "scholarship"
    IN_KIND = "in_kind"


class Period(enum.StrEnum):
    YEAR = "year"
    TERM = "term"
    DAY = "day"
    ONCE = "once"


class AmountType(enum.StrEnum):
    FIXED = "fixed"  # a sum in yuan per period (an average standard when `max` is also given)
    CEILING = "ceiling"  # at most this much (loans)
    FULL = "full"  # the whole fee is waived
    NONE = "none"  # a service or food, no sum (green channel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalText(_Strict):
    """The same text in every supported locale; pack text is data, not gettext."""

    zh_Hans: str = Field(min_length=1)
    zh_Hant: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, locale: str) -> str:
        return str(getattr(self, locale, None) or self.zh_Hans)


# A dated series: the value in force on a date is the one with the latest start on or before it;
# None ends the item (or the value) from that date on.
Dated = dict[date, Decimal | None]


def value_on(series: Dated | None, on: date) -> tuple[bool, Decimal | None]:
    """(in force, value) on `on`: in force once the first start has passed and not ended by a None."""
    if not series:
        return False, None
    starts = [start for start in series if start <= on]
    if not starts:
        return False, None
    value = series[max(starts)]
    return value is not None, value


def _check_dated(series: Dated | None) -> Dated | None:
    if series is not None:
        if not series:
            raise ValueError("needs at least one dated value")
        for start, value in series.items():
            if value is not None and value < 0:
                raise ValueError(f"value on {start} is negative")
    return series


class Amount(_Strict):
    type: AmountType = AmountType.FIXED
    period: Period | None = None
    values: Dated | None = None
    by_stage: dict[Stage, Dated] | None = None
    max: Dated | None = None
    note: LocalText | None = None

    @field_validator("values", "max")
    @classmethod
    def _dated(cls, value: Dated | None) -> Dated | None:
        return _check_dated(value)

    @field_validator("by_stage")
    @classmethod
    def _dated_by_stage(cls, value: dict[Stage, Dated] | None) -> dict[Stage, Dated] | None:
        for series in (value or {}).values():
            _check_dated(series)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Amount:
        has_values = self.values is not None or self.by_stage is not None
        if self.values is not None and self.by_stage is not None:
            raise ValueError("give either values or by_stage, not both")
        if self.type in {AmountType.FIXED, AmountType.CEILING}:
            if not has_values:
                raise ValueError(f"a {self.type.value} amount needs values or by_stage (the sums in yuan)")
            if self.period is None:
                raise ValueError(f"a {self.type.value} amount needs a period (year, term, day or once)")
        return self

    def series(self, stage: Stage | None) -> Dated | None:
        if self.by_stage is not None:
            return self.by_stage.get(stage) if stage else None
        return self.values


class Conditions(_Strict):
    # Any one of these household statuses qualifies; empty means no household condition.
    household_any: list[HouseholdFlag] = Field(default_factory=list)
    # Also covered when none of the flags apply, on terms the school checks ("rural students...").
    otherwise: LocalText | None = None
    boarding: bool | None = None
    in_province: bool | None = None
    preschool_final_year: bool | None = None
    # A condition the bot cannot check (pilot area, academic merit): the item is at best "possible".
    confirm: LocalText | None = None

    @model_validator(mode="after")
    def _otherwise_needs_household(self) -> Conditions:
        if self.otherwise is not None and not self.household_any:
            raise ValueError("'otherwise' only makes sense with household_any")
        return self


class HowToApply(_Strict):
    steps: list[str] = Field(min_length=1)
    documents: list[str] = Field(default_factory=list)
    where: str = Field(min_length=1)
    when: str = Field(min_length=1)


class Source(_Strict):
    document: str = Field(min_length=1)
    section: str = Field(min_length=1)
    # As precise as the source is: "2024", "2021-09" or "2005-12-24".
    date: str = Field(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")
    url: str | None = None
    note: str | None = None

    @field_validator("date", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, date)) else value


class Item(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    kind: Kind
    name: LocalText
    description: LocalText
    stages: list[Stage] = Field(min_length=1)
    conditions: Conditions = Field(default_factory=Conditions)
    amount: Amount
    # When the item starts (and ends); an amount's own dated values can also start and end it.
    since: date | None = None
    until: date | None = None
    # Month (1-12) applications usually open, for reminders ("aid applications open this month").
    opens_month: int | None = Field(default=None, ge=1, le=12)
    # A key of the pack's `apply` templates, or the text itself per locale.
    how_to_apply: str | dict[Literal["zh_Hans", "zh_Hant", "en"], HowToApply]
    source: Source

    @model_validator(mode="after")
    def _consistent(self) -> Item:
        if self.kind == Kind.LOAN and self.amount.type != AmountType.CEILING:
            raise ValueError("a loan needs amount.type: ceiling")
        if self.amount.type == AmountType.FULL and self.kind != Kind.WAIVER:
            raise ValueError("only a waiver can be 'full'")
        if self.amount.type == AmountType.NONE and self.kind != Kind.IN_KIND:
            raise ValueError("only an in_kind item may have no amount")
        if self.amount.by_stage is not None:
            missing = [s.value for s in self.stages if s not in self.amount.by_stage]
            extra = [s.value for s in self.amount.by_stage if s not in self.stages]
            if missing or extra:
                raise ValueError(
                    f"amount.by_stage must cover exactly the stages (missing {missing}, extra {extra})"
                )
        if isinstance(self.how_to_apply, dict) and set(self.how_to_apply) != {"zh_Hans", "zh_Hant", "en"}:
            raise ValueError("how_to_apply needs zh_Hans, zh_Hant and en")
        return self


class PackFile(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9\-]{0,15}$")
    name: LocalText
    parent: str | None = None
    # The period the pack's document covers; outside it a region falls back to `national`.
    in_force_from: date | None = None
    in_force_until: date | None = None
    apply: dict[str, dict[Literal["zh_Hans", "zh_Hant", "en"], HowToApply]] = Field(default_factory=dict)
    items: list[Item] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> PackFile:
        seen: set[str] = set()
        for item in self.items:
            if item.id in seen:
                raise ValueError(f"item id {item.id!r} appears twice")
            seen.add(item.id)
        return self


class PackItem(BaseModel):
    """An item as resolved in a pack: where it was defined, with its how-to-apply text looked up."""

    model_config = ConfigDict(frozen=True)

    item: Item
    source_pack: str
    how_to_apply: dict[str, HowToApply]

    @property
    def id(self) -> str:
        return self.item.id


class Pack(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: LocalText
    chain: tuple[str, ...]
    in_force_from: date | None
    in_force_until: date | None
    items: tuple[PackItem, ...]

    def item(self, item_id: str) -> PackItem | None:
        return next((entry for entry in self.items if entry.id == item_id), None)

    def in_force(self, on: date) -> bool:
        return (self.in_force_from is None or self.in_force_from <= on) and (
            self.in_force_until is None or on <= self.in_force_until
        )


def _field_path(raw: dict[str, Any], loc: tuple[int | str, ...]) -> tuple[str | None, str]:
    """Turn pydantic's location (items, 3, amount, values) into (item id, 'amount.values')."""
    item_id: str | None = None
    rest = list(loc)
    if len(rest) >= 2 and rest[0] == "items" and isinstance(rest[1], int):
        index = rest[1]
        items = raw.get("items") or []
        entry = items[index] if index < len(items) else None
        item_id = str(entry.get("id")) if isinstance(entry, dict) and entry.get("id") else f"#{index + 1}"
        rest = rest[2:]
    # Drop pydantic's union branch labels ("str", "dict[...]") so the field reads like the YAML.
    parts = [
        str(p) for p in rest if not (isinstance(p, str) and ("[" in p or p in {"str", "function-after"}))
    ]
    return item_id, ".".join(parts) or "(whole)"


def parse_pack_file(path: Path) -> PackFile:
    """Read and validate one YAML file (no parent resolution)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PackError(f"{path}: no such pack file") from exc
    except yaml.YAMLError as exc:
        raise PackError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise PackError(f"{path}: a pack must be a mapping with id, name and items")
    try:
        pack = PackFile.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            item_id, field = _field_path(raw, tuple(error["loc"]))
            where = f"item {item_id!r}, field {field!r}" if item_id else f"field {field!r}"
            message = str(error["msg"]).removeprefix("Value error, ")
            lines.append(f"{path}: {where}: {message}")
        raise PackError("\n".join(lines)) from exc
    if pack.id != path.stem:
        raise PackError(f"{path}: field 'id': the id {pack.id!r} must match the file name {path.stem!r}")
    for item in pack.items:
        if isinstance(item.how_to_apply, str) and item.how_to_apply not in pack.apply:
            raise PackError(
                f"{path}: item {item.id!r}, field 'how_to_apply': no template {item.how_to_apply!r} in 'apply'"
            )
    return pack


def _resolve(pack_id: str, directory: Path, seen: tuple[str, ...]) -> Pack:
    if pack_id in seen:
        raise PackError(
            f"{directory / (pack_id + '.yaml')}: field 'parent': cycle {' → '.join((*seen, pack_id))}"
        )
    path = directory / f"{pack_id}.yaml"
    data = parse_pack_file(path)
    inherited: list[PackItem] = []
    chain: tuple[str, ...] = (data.id,)
    if data.parent:
        if not (directory / f"{data.parent}.yaml").exists():
            raise PackError(f"{path}: field 'parent': no pack {data.parent!r}")
        parent = _resolve(data.parent, directory, (*seen, pack_id))
        inherited = list(parent.items)
        chain = (data.id, *parent.chain)
    own = [
        PackItem(
            item=item,
            source_pack=data.id,
            how_to_apply=dict(
                data.apply[item.how_to_apply] if isinstance(item.how_to_apply, str) else item.how_to_apply
            ),
        )
        for item in data.items
    ]
    own_ids = {entry.id for entry in own}
    # Overrides keep the parent's position so lists read in the same order across regions.
    merged = [
        next(o for o in own if o.id == entry.id) if entry.id in own_ids else entry for entry in inherited
    ]
    merged += [entry for entry in own if entry.id not in {e.id for e in inherited}]
    return Pack(
        id=data.id,
        name=data.name,
        chain=chain,
        in_force_from=data.in_force_from,
        in_force_until=data.in_force_until,
        items=tuple(merged),
    )


@cache
def load_pack(pack_id: str, directory: Path = PACK_DIR) -> Pack:
    """The pack with its parents resolved. Raises PackError for unknown or invalid packs."""
    if not pack_id or "/" in pack_id or pack_id.startswith("."):
        raise PackError(f"{directory / str(pack_id)}: not a pack id")
    return _resolve(pack_id, directory, ())


def pack_ids(directory: Path | None = None) -> list[str]:
    return sorted(path.stem for path in (directory or PACK_DIR).glob("*.yaml"))


def load_all(directory: Path | None = None) -> list[Pack]:
    """Validate every pack in the directory (called at start so a bad pack fails early)."""
    folder = directory or PACK_DIR
    return [load_pack(pack_id, folder) for pack_id in pack_ids(folder)]


def pack_for(pack_id: str | None, on: date, directory: Path = PACK_DIR) -> Pack:
    """The pack a region uses on a date: its own while in force, else the national fallback."""
    if pack_id and pack_id in pack_ids(directory):
        pack = load_pack(pack_id, directory)
        if pack.in_force(on):
            return pack
    return load_pack(FALLBACK_PACK, directory)
