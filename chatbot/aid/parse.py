"""Reading a free-text aid question: which stage, boarding, household, province and item it names.

The words live in lexicon.yaml (data, per locale). Every locale's words are searched, since people
mix scripts; overlapping matches go to the longest word ("不住校" over "住校").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from chatbot.core.text import clean_text
from db.models import HOUSEHOLD_FLAGS, Stage

LEXICON_PATH = Path(__file__).resolve().parent / "lexicon.yaml"
FACT_CATEGORIES = ("stage", "boarding", "household", "in_province", "preschool_final_year")


@dataclass(frozen=True)
class Lexicon:
    # word → [(category, value)]; category is a fact name, "item", "aid" or "explain".
    facts: dict[str, tuple[tuple[str, str], ...]]
    items: dict[str, tuple[str, ...]]
    cues: dict[str, tuple[str, ...]]


@cache
def lexicon(path: Path = LEXICON_PATH) -> Lexicon:
    """Load and check the synonym lists (unknown stages, flags or categories fail at start)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    facts: dict[str, list[tuple[str, str]]] = {}
    items: dict[str, list[str]] = {}
    cues: dict[str, list[str]] = {}
    for locale, sections in raw.items():
        for category, entries in sections.items():
            if category in {"aid", "explain"}:
                for word in entries:
                    cues.setdefault(_norm(word), []).append(category)
                continue
            if category not in (*FACT_CATEGORIES, "item"):
                raise ValueError(f"{path}: {locale}: unknown section {category!r}")
            for value, words in (entries or {}).items():
                _check_value(path, locale, category, str(value))
                for word in words or []:
                    target = items if category == "item" else None
                    if target is not None:
                        target.setdefault(_norm(word), []).append(str(value))
                    else:
                        facts.setdefault(_norm(word), []).append((category, str(value)))
    return Lexicon(
        facts={w: tuple(dict.fromkeys(v)) for w, v in facts.items()},
        items={w: tuple(dict.fromkeys(v)) for w, v in items.items()},
        cues={w: tuple(dict.fromkeys(v)) for w, v in cues.items()},
    )


def _check_value(path: Path, locale: str, category: str, value: str) -> None:
    allowed: set[str] | None = {
        "stage": {s.value for s in Stage},
        "household": {*HOUSEHOLD_FLAGS, "none"},
        "boarding": {"true", "false"},
        "in_province": {"true", "false"},
        "preschool_final_year": {"true", "false"},
    }.get(category)
    if allowed is not None and value.lower() not in allowed:
        raise ValueError(f"{path}: {locale}: {category}: unknown value {value!r}")


def _norm(text: str) -> str:
    return clean_text(text).lower()


def _is_latin(word: str) -> bool:
    return bool(re.fullmatch(r"[a-z0-9 '\-]+", word))


@cache
def _whole_word(word: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z])" + re.escape(word) + r"(?![a-z])")


def _find(text: str, words: dict[str, tuple[object, ...]]) -> list[tuple[int, int, str]]:
    """Non-overlapping matches (start, end, word), longest first."""
    found: list[tuple[int, int, str]] = []
    for word in words:
        if _is_latin(word):
            found += [(m.start(), m.end(), word) for m in _whole_word(word).finditer(text)]
        else:
            start = text.find(word)
            while start >= 0:
                found.append((start, start + len(word), word))
                start = text.find(word, start + 1)
    found.sort(key=lambda m: (-(m[1] - m[0]), m[0]))
    kept: list[tuple[int, int, str]] = []
    for match in found:
        if all(match[1] <= k[0] or match[0] >= k[1] for k in kept):
            kept.append(match)
    return sorted(kept)


@dataclass
class Parsed:
    """Everything a message says; sets, so contradictions ("university … primary school") show."""

    stages: set[Stage] = field(default_factory=set)
    boarding: set[bool] = field(default_factory=set)
    household: set[str] = field(default_factory=set)
    household_none: bool = False
    in_province: set[bool] = field(default_factory=set)
    preschool_final_year: set[bool] = field(default_factory=set)
    items: list[str] = field(default_factory=list)
    aid: bool = False
    explain: bool = False

    @property
    def has_facts(self) -> bool:
        return bool(
            self.stages
            or self.boarding
            or self.household
            or self.household_none
            or self.in_province
            or self.preschool_final_year
        )

    @property
    def about_aid(self) -> bool:
        return self.aid or bool(self.items)

    @property
    def understood(self) -> bool:
        return self.has_facts or self.about_aid

    def contradictions(self) -> list[str]:
        """The facts stated both ways: 'stage', 'boarding', 'in_province', 'household'."""
        found = []
        if len(self.stages) > 1:
            found.append("stage")
        for name in ("boarding", "in_province"):
            if len(getattr(self, name)) > 1:
                found.append(name)
        if self.household and self.household_none:
            found.append("household")
        return found


def parse(text: str | None) -> Parsed:
    """What a free-text message says about the pupil and the aid it asks about."""
    lex = lexicon()
    normalized = _norm(text or "")
    parsed = Parsed()
    if not normalized:
        return parsed
    for _start, _end, word in _find(normalized, lex.facts):  # type: ignore[arg-type]
        for category, value in lex.facts[word]:
            if category == "stage":
                parsed.stages.add(Stage(value))
            elif category == "household":
                if value == "none":
                    parsed.household_none = True
                else:
                    parsed.household.add(value)
            else:
                getattr(parsed, category).add(value.lower() == "true")
    if True in parsed.preschool_final_year and not parsed.stages:
        # "the last year of kindergarten" names the stage too.
        parsed.stages.add(Stage.PRESCHOOL)
    for _start, _end, word in _find(normalized, lex.items):  # type: ignore[arg-type]
        parsed.items += [i for i in lex.items[word] if i not in parsed.items]
    for _start, _end, word in _find(normalized, lex.cues):  # type: ignore[arg-type]
        parsed.aid = parsed.aid or "aid" in lex.cues[word]
        parsed.explain = parsed.explain or "explain" in lex.cues[word]
    return parsed


def looks_like_aid_question(text: str) -> bool:
    """The free-text trigger: it names aid (a cue word or an item), or describes a pupil in aid terms
    (a stage plus boarding or household status); a stage alone ("初三") is not enough."""
    parsed = parse(text)
    return parsed.about_aid or bool(parsed.stages and (parsed.boarding or parsed.household))
