"""Properties of the engine over generated profiles: unknown facts lean toward inclusion, and
open_questions names every fact whose answer can change a result."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from chatbot.aid.engine import Fact, Profile, Status, evaluate, open_questions
from chatbot.aid.pack import load_pack
from db.models import HOUSEHOLD_FLAGS, Stage

PACKS = [load_pack("national"), load_pack("linxia-2019")]
DATES = [date(2019, 10, 1), date(2023, 9, 1), date(2024, 9, 1), date(2026, 11, 23)]
maybe_bool = st.sampled_from([None, True, False])
households = st.one_of(st.none(), st.frozensets(st.sampled_from(HOUSEHOLD_FLAGS)))
profiles = st.builds(
    Profile,
    stage=st.one_of(st.none(), st.sampled_from(list(Stage))),
    preschool_final_year=maybe_bool,
    boarding=maybe_bool,
    household=households,
    in_province=maybe_bool,
)
completions = st.fixed_dictionaries(
    {
        "stage": st.sampled_from(list(Stage)),
        "preschool_final_year": st.booleans(),
        "boarding": st.booleans(),
        "household": st.frozensets(st.sampled_from(HOUSEHOLD_FLAGS)),
        "in_province": st.booleans(),
    }
)


def complete(profile: Profile, values: dict[str, object]) -> Profile:
    for fact in Fact:
        if not profile.known(fact):
            profile = profile.with_fact(fact, values[fact.value])
    return profile


@settings(max_examples=150, deadline=None)
@given(profiles, completions, st.sampled_from(PACKS), st.sampled_from(DATES))
def test_an_unknown_fact_never_hides_an_item_the_full_answer_would_give(profile, values, pack, on) -> None:  # type: ignore[no-untyped-def]
    partial = evaluate(profile, pack, on)
    full = evaluate(complete(profile, values), pack, on)
    for before, after in zip(partial, full, strict=True):
        if after.status != Status.NOT_ELIGIBLE:
            assert before.status != Status.NOT_ELIGIBLE, (before.item_id, profile)


@settings(max_examples=150, deadline=None)
@given(profiles, completions, st.sampled_from(PACKS), st.sampled_from(DATES))
def test_facts_not_asked_cannot_change_any_status(profile, values, pack, on) -> None:  # type: ignore[no-untyped-def]
    if profile.stage is None:
        return
    asked = set(open_questions(profile, pack, on))
    # Fill only the facts the dialog would NOT ask: the results must not change.
    filled = profile
    for fact in Fact:
        if fact not in asked and not profile.known(fact):
            filled = filled.with_fact(fact, values[fact.value])
    before = [r.status for r in evaluate(profile, pack, on)]
    after = [r.status for r in evaluate(filled, pack, on)]
    assert before == after
