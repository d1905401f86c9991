"""Every item of both packs, on both sides of every dated change (pure: no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from chatbot.aid.engine import (
    Check,
    Fact,
    Outcome,
    Profile,
    Result,
    Status,
    evaluate,
    evaluate_item,
    items_opening,
    open_questions,
)
from chatbot.aid.pack import load_pack, pack_for
from db.models import Stage
from tests.aid.test_packs import with_changes, write_pack

E, P, N = Status.ELIGIBLE, Status.POSSIBLE, Status.NOT_ELIGIBLE
D = date.fromisoformat
RP = frozenset({"registered_poor"})
DIBAO = frozenset({"dibao"})
ORPHAN = frozenset({"orphan"})
NONE: frozenset[str] = frozenset()


def prof(stage: str, household: frozenset[str] | None = RP, **facts: bool | None) -> Profile:
    return Profile(stage=Stage(stage), household=household, **facts)  # type: ignore[arg-type]


# (pack, item, on, profile, status, amount, max_amount)
CASES = [
    # --- national ------------------------------------------------------------------------------------
    ("national", "free_tuition_textbooks", "2008-08-31", prof("primary"), N, None, None),
    ("national", "free_tuition_textbooks", "2008-09-01", prof("primary", NONE), E, None, None),
    ("national", "free_tuition_textbooks", "2026-11-23", prof("junior", None), E, None, None),
    ("national", "free_tuition_textbooks", "2026-11-23", prof("senior"), N, None, None),
    ("national", "boarding_allowance", "2011-08-31", prof("primary", boarding=True), N, None, None),
    ("national", "boarding_allowance", "2011-09-01", prof("primary", boarding=True), E, 1000, None),
    ("national", "boarding_allowance", "2024-02-29", prof("primary", boarding=True), E, 1000, None),
    ("national", "boarding_allowance", "2024-03-01", prof("primary", boarding=True), E, 1250, None),
    ("national", "boarding_allowance", "2023-09-01", prof("junior", DIBAO, boarding=True), E, 1250, None),
    ("national", "boarding_allowance", "2024-02-29", prof("junior", boarding=True), E, 1250, None),
    ("national", "boarding_allowance", "2024-03-01", prof("junior", boarding=True), E, 1500, None),
    ("national", "boarding_allowance", "2024-09-01", prof("junior", ORPHAN, boarding=True), E, 1500, None),
    ("national", "boarding_allowance", "2024-09-01", prof("junior", None, boarding=True), P, 1500, None),
    ("national", "boarding_allowance", "2024-09-01", prof("junior", boarding=None), P, 1500, None),
    ("national", "boarding_allowance", "2024-09-01", prof("junior", NONE, boarding=True), N, None, None),
    ("national", "boarding_allowance", "2024-09-01", prof("junior", boarding=False), N, None, None),
    ("national", "nonboarding_allowance", "2019-08-31", prof("primary", boarding=False), N, None, None),
    ("national", "nonboarding_allowance", "2019-09-01", prof("primary", boarding=False), E, 500, None),
    ("national", "nonboarding_allowance", "2024-02-29", prof("primary", DIBAO, boarding=False), E, 500, None),
    ("national", "nonboarding_allowance", "2024-03-01", prof("primary", boarding=False), E, 625, None),
    ("national", "nonboarding_allowance", "2024-02-29", prof("junior", boarding=False), E, 625, None),
    ("national", "nonboarding_allowance", "2024-03-01", prof("junior", boarding=False), E, 750, None),
    (
        "national",
        "nonboarding_allowance",
        "2024-03-01",
        prof("junior", ORPHAN, boarding=False),
        N,
        None,
        None,
    ),
    ("national", "nonboarding_allowance", "2024-03-01", prof("junior", boarding=True), N, None, None),
    ("national", "nutrition_meal", "2011-08-31", prof("primary", NONE), N, None, None),
    ("national", "nutrition_meal", "2011-09-01", prof("primary", NONE), P, 3, None),
    ("national", "nutrition_meal", "2014-10-31", prof("junior", NONE), P, 3, None),
    ("national", "nutrition_meal", "2014-11-01", prof("junior", NONE), P, 4, None),
    ("national", "nutrition_meal", "2021-08-31", prof("primary", NONE), P, 4, None),
    ("national", "nutrition_meal", "2021-09-01", prof("primary", NONE), P, 5, None),
    (
        "national",
        "preschool_final_year_free",
        "2025-08-31",
        prof("preschool", preschool_final_year=True),
        N,
        None,
        None,
    ),
    (
        "national",
        "preschool_final_year_free",
        "2025-09-01",
        prof("preschool", NONE, preschool_final_year=True),
        E,
        None,
        None,
    ),
    (
        "national",
        "preschool_final_year_free",
        "2025-09-01",
        prof("preschool", preschool_final_year=False),
        N,
        None,
        None,
    ),
    ("national", "preschool_final_year_free", "2025-09-01", prof("preschool"), P, None, None),
    ("national", "senior_grant", "2017-02-28", prof("senior"), N, None, None),
    ("national", "senior_grant", "2017-03-01", prof("senior"), E, 2000, 3000),
    ("national", "senior_grant", "2025-02-28", prof("senior", DIBAO), E, 2000, 3000),
    ("national", "senior_grant", "2025-03-01", prof("senior", DIBAO), E, 2300, 3500),
    ("national", "senior_grant", "2025-03-01", prof("senior", NONE), N, None, None),
    ("national", "senior_fee_waiver", "2016-08-31", prof("senior"), N, None, None),
    ("national", "senior_fee_waiver", "2016-09-01", prof("senior"), E, None, None),
    ("national", "senior_fee_waiver", "2016-09-01", prof("senior", ORPHAN), N, None, None),
    ("national", "sec_voc_free_tuition", "2012-08-31", prof("secondary_vocational"), N, None, None),
    ("national", "sec_voc_free_tuition", "2012-09-01", prof("secondary_vocational"), E, None, None),
    ("national", "sec_voc_free_tuition", "2012-09-01", prof("secondary_vocational", NONE), P, None, None),
    ("national", "sec_voc_grant", "2007-08-31", prof("secondary_vocational"), N, None, None),
    ("national", "sec_voc_grant", "2007-09-01", prof("secondary_vocational"), P, 1500, None),
    ("national", "sec_voc_grant", "2015-02-28", prof("secondary_vocational"), P, 1500, None),
    ("national", "sec_voc_grant", "2015-03-01", prof("secondary_vocational"), P, 2000, None),
    ("national", "sec_voc_grant", "2025-02-28", prof("secondary_vocational"), P, 2000, None),
    ("national", "sec_voc_grant", "2025-03-01", prof("secondary_vocational"), P, 2300, None),
    ("national", "sec_voc_grant", "2025-03-01", prof("secondary_vocational", NONE), N, None, None),
    ("national", "undergrad_grant", "2019-08-31", prof("undergraduate"), N, None, None),
    ("national", "undergrad_grant", "2019-09-01", prof("undergraduate"), E, 3300, None),
    ("national", "undergrad_grant", "2024-08-31", prof("undergraduate", DIBAO), E, 3300, None),
    ("national", "undergrad_grant", "2024-09-01", prof("undergraduate", DIBAO), E, 3700, 5000),
    ("national", "undergrad_grant", "2024-09-01", prof("higher_vocational"), E, 3700, 5000),
    ("national", "undergrad_grant", "2024-09-01", prof("postgraduate"), N, None, None),
    ("national", "encouragement_scholarship", "2007-08-31", prof("undergraduate"), N, None, None),
    ("national", "encouragement_scholarship", "2007-09-01", prof("undergraduate"), P, 5000, None),
    ("national", "encouragement_scholarship", "2024-08-31", prof("undergraduate"), P, 5000, None),
    ("national", "encouragement_scholarship", "2024-09-01", prof("undergraduate"), P, 6000, None),
    ("national", "encouragement_scholarship", "2024-09-01", prof("undergraduate", NONE), N, None, None),
    ("national", "national_scholarship", "2007-08-31", prof("undergraduate", NONE), N, None, None),
    ("national", "national_scholarship", "2007-09-01", prof("undergraduate", NONE), P, 8000, None),
    ("national", "national_scholarship", "2024-08-31", prof("undergraduate", NONE), P, 8000, None),
    ("national", "national_scholarship", "2024-09-01", prof("higher_vocational", NONE), P, 10000, None),
    ("national", "student_loan", "2014-08-31", prof("undergraduate"), N, None, None),
    ("national", "student_loan", "2014-09-01", prof("undergraduate"), E, None, 8000),
    ("national", "student_loan", "2021-08-31", prof("undergraduate"), E, None, 8000),
    ("national", "student_loan", "2021-09-01", prof("undergraduate"), E, None, 12000),
    ("national", "student_loan", "2023-08-31", prof("higher_vocational"), E, None, 12000),
    ("national", "student_loan", "2023-09-01", prof("higher_vocational"), E, None, 16000),
    ("national", "student_loan", "2024-08-31", prof("undergraduate"), E, None, 16000),
    ("national", "student_loan", "2024-09-01", prof("undergraduate"), E, None, 20000),
    ("national", "student_loan", "2014-09-01", prof("postgraduate"), E, None, 12000),
    ("national", "student_loan", "2021-09-01", prof("postgraduate"), E, None, 16000),
    ("national", "student_loan", "2023-09-01", prof("postgraduate"), E, None, 20000),
    ("national", "student_loan", "2024-09-01", prof("postgraduate"), E, None, 25000),
    ("national", "student_loan", "2024-09-01", prof("postgraduate", NONE), P, None, 25000),
    ("national", "student_loan", "2024-09-01", prof("senior"), N, None, None),
    ("national", "postgrad_grant", "2017-08-31", prof("postgraduate", NONE), N, None, None),
    ("national", "postgrad_grant", "2017-09-01", prof("postgraduate", NONE), P, 6000, 15000),
    ("national", "green_channel", "2026-08-20", prof("undergraduate"), P, None, None),
    ("national", "green_channel", "2026-08-20", prof("junior"), N, None, None),
    # --- linxia-2019: every amount of seed 001 §一(七) ----------------------------------------------
    (
        "linxia-2019",
        "preschool_living_allowance",
        "2019-10-01",
        prof("preschool", preschool_final_year=True),
        E,
        600,
        None,
    ),
    (
        "linxia-2019",
        "preschool_living_allowance",
        "2019-10-01",
        prof("preschool", preschool_final_year=False),
        N,
        None,
        None,
    ),
    (
        "linxia-2019",
        "preschool_living_allowance",
        "2019-10-01",
        prof("preschool", DIBAO, preschool_final_year=True),
        N,
        None,
        None,
    ),
    ("linxia-2019", "boarding_allowance", "2019-10-01", prof("primary", boarding=True), E, 1000, None),
    ("linxia-2019", "boarding_allowance", "2019-10-01", prof("junior", boarding=True), E, 1250, None),
    ("linxia-2019", "boarding_allowance", "2019-10-01", prof("junior", boarding=False), N, None, None),
    ("linxia-2019", "boarding_allowance", "2019-10-01", prof("junior", DIBAO, boarding=True), N, None, None),
    ("linxia-2019", "senior_grant", "2019-10-01", prof("senior"), E, 2000, None),
    ("linxia-2019", "senior_grant", "2019-10-01", prof("senior", None), P, 2000, None),
    (
        "linxia-2019",
        "sec_voc_free_tuition",
        "2019-10-01",
        prof("secondary_vocational", in_province=True),
        E,
        2000,
        None,
    ),
    (
        "linxia-2019",
        "sec_voc_free_tuition",
        "2019-10-01",
        prof("secondary_vocational", in_province=False),
        N,
        None,
        None,
    ),
    ("linxia-2019", "sec_voc_free_tuition", "2019-10-01", prof("secondary_vocational"), P, 2000, None),
    (
        "linxia-2019",
        "sec_voc_grant",
        "2019-10-01",
        prof("secondary_vocational", in_province=True),
        E,
        2000,
        None,
    ),
    (
        "linxia-2019",
        "sec_voc_grant",
        "2019-10-01",
        prof("secondary_vocational", in_province=False),
        N,
        None,
        None,
    ),
    (
        "linxia-2019",
        "higher_voc_free_tuition",
        "2019-10-01",
        prof("higher_vocational", in_province=True),
        E,
        None,
        None,
    ),
    (
        "linxia-2019",
        "higher_voc_free_tuition",
        "2019-10-01",
        prof("higher_vocational", in_province=False),
        N,
        None,
        None,
    ),
    ("linxia-2019", "student_loan", "2019-10-01", prof("undergraduate"), E, None, 8000),
    ("linxia-2019", "student_loan", "2019-10-01", prof("higher_vocational"), E, None, 8000),
    ("linxia-2019", "student_loan", "2019-10-01", prof("postgraduate"), E, None, 12000),
    ("linxia-2019", "student_loan", "2019-10-01", prof("postgraduate", DIBAO), N, None, None),
]


@pytest.mark.parametrize(("pack_id", "item_id", "on", "profile", "status", "amount", "maximum"), CASES)
def test_item_on_date(
    pack_id: str,
    item_id: str,
    on: str,
    profile: Profile,
    status: Status,
    amount: int | None,
    maximum: int | None,
) -> None:
    entry = load_pack(pack_id).item(item_id)
    assert entry is not None
    result = evaluate_item(profile, entry, D(on))
    assert result.status == status, result
    if status != Status.NOT_ELIGIBLE:
        assert result.amount == (None if amount is None else Decimal(amount))
        assert result.max_amount == (None if maximum is None else Decimal(maximum))
    else:
        assert result.reason is not None or result.not_in_force is not None


def test_the_table_covers_every_item_of_both_packs() -> None:
    for pack_id in ("national", "linxia-2019"):
        covered = {case[1] for case in CASES if case[0] == pack_id}
        assert covered == {entry.id for entry in load_pack(pack_id).items}


def test_every_dated_change_is_tested_on_both_sides() -> None:
    for pack_id in ("national", "linxia-2019"):
        for entry in load_pack(pack_id).items:
            amount = entry.item.amount
            series = [amount.values] if amount.values else list((amount.by_stage or {}).values())
            starts = {start for s in series for start in s} | (
                {entry.item.since} if entry.item.since else set()
            )
            dates = {D(c[2]) for c in CASES if c[0] == pack_id and c[1] == entry.id}
            for start in starts:
                if pack_id == "linxia-2019":
                    continue  # one value per item, the plan's; the pack's own dates are tested below
                assert start in dates, (entry.id, start)
                assert date.fromordinal(start.toordinal() - 1) in dates, (entry.id, start)


def test_explanations_name_matched_conditions_and_source() -> None:
    pack = load_pack("national")
    entry = pack.item("boarding_allowance")
    assert entry is not None
    result = evaluate_item(prof("junior", boarding=True), entry, D("2024-09-01"))
    assert {c.fact for c in result.met} == {Fact.STAGE, Fact.BOARDING, Fact.HOUSEHOLD}
    assert "2024" in entry.item.source.date and "1500" in entry.item.source.section


@pytest.mark.parametrize(
    ("pack_id", "on", "expected"),
    [
        ("linxia-2019", "2018-12-31", "national"),
        ("linxia-2019", "2019-01-01", "linxia-2019"),
        ("linxia-2019", "2020-12-31", "linxia-2019"),
        ("linxia-2019", "2021-01-01", "national"),
        (None, "2019-06-01", "national"),
        ("no-such-pack", "2019-06-01", "national"),
    ],
)
def test_region_pack_falls_back_to_national_outside_its_period(
    pack_id: str | None, on: str, expected: str
) -> None:
    assert pack_for(pack_id, D(on)).id == expected


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        (Profile(), [Fact.STAGE, Fact.PRESCHOOL_FINAL_YEAR, Fact.HOUSEHOLD, Fact.BOARDING]),
        (Profile(stage=Stage.UNDERGRADUATE), [Fact.HOUSEHOLD]),
        (Profile(stage=Stage.PRIMARY), [Fact.HOUSEHOLD, Fact.BOARDING]),
        (Profile(stage=Stage.JUNIOR, household=DIBAO), [Fact.BOARDING]),
        (Profile(stage=Stage.PRIMARY, household=NONE), []),
        (Profile(stage=Stage.PRESCHOOL), [Fact.PRESCHOOL_FINAL_YEAR]),
        (Profile(stage=Stage.SENIOR), [Fact.HOUSEHOLD]),
        (Profile(stage=Stage.POSTGRADUATE, household=DIBAO), []),
    ],
)
def test_only_questions_that_can_change_the_answer(profile: Profile, expected: list[Fact]) -> None:
    assert open_questions(profile, load_pack("national"), D("2026-11-23")) == expected


def test_linxia_asks_in_province_for_vocational_but_never_boarding_for_university() -> None:
    pack = load_pack("linxia-2019")
    on = D("2019-10-01")
    assert open_questions(Profile(stage=Stage.SECONDARY_VOCATIONAL), pack, on) == [
        Fact.HOUSEHOLD,
        Fact.IN_PROVINCE,
    ]
    assert Fact.BOARDING not in open_questions(Profile(stage=Stage.UNDERGRADUATE), pack, on)
    assert Fact.IN_PROVINCE not in open_questions(Profile(stage=Stage.PRIMARY), pack, on)
    # A family with none of the statuses is asked nothing more: every Linxia item needs 建档立卡.
    assert open_questions(Profile(stage=Stage.SECONDARY_VOCATIONAL, household=NONE), pack, on) == []


def test_no_household_status_leaves_only_universal_items() -> None:
    results = evaluate(prof("junior", NONE, boarding=True), load_pack("linxia-2019"), D("2019-10-01"))
    assert {r.status for r in results} == {Status.NOT_ELIGIBLE}


def test_items_opening_for_reminders() -> None:
    pack = load_pack("national")
    july = [e.id for e in items_opening(pack, 7, D("2026-07-01"))]
    assert july == ["student_loan"]
    september_primary = {e.id for e in items_opening(pack, 9, D("2026-09-01"), [Stage.PRIMARY])}
    assert {"boarding_allowance", "nonboarding_allowance", "free_tuition_textbooks"} <= september_primary
    assert "undergrad_grant" not in september_primary
    assert items_opening(load_pack("national"), 9, D("2025-08-31"), [Stage.PRESCHOOL]) == []


def test_unknown_household_flag_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown household"):
        Profile(stage=Stage.PRIMARY, household=frozenset({"rich"}))


def test_items_opening_skips_other_stages_and_items_not_started() -> None:
    pack = load_pack("national")
    university = [e.id for e in items_opening(pack, 9, D("2026-09-01"), [Stage.UNDERGRADUATE])]
    assert university == ["undergrad_grant", "encouragement_scholarship", "national_scholarship"]
    # In 2010 the living allowances had not started for any stage (they start in 2011 and 2019).
    assert [e.id for e in items_opening(pack, 9, D("2010-09-01"), [Stage.PRIMARY])] == [
        "free_tuition_textbooks"
    ]


def test_not_eligible_results_carry_their_checks_and_date() -> None:
    pack = load_pack("national")
    on = D("2024-09-01")
    entry = pack.item("boarding_allowance")
    assert entry is not None
    wrong_stage = Check(Fact.STAGE, Outcome.FAILED, ("primary", "junior"))
    assert evaluate_item(prof("senior"), entry, on) == Result(
        entry, N, checks=(wrong_stage,), reason=wrong_stage, on=on
    )
    stage = Check(Fact.STAGE, Outcome.MET, ("junior",))
    day_pupil = Check(Fact.BOARDING, Outcome.FAILED, ("True",))
    household = Check(Fact.HOUSEHOLD, Outcome.MET, ("registered_poor",))
    assert evaluate_item(prof("junior", boarding=False), entry, on) == Result(
        entry, N, checks=(stage, day_pupil, household), reason=day_pupil, on=on
    )
    assert evaluate_item(prof("junior", boarding=True), entry, D("2011-08-31")) == Result(
        entry, N, checks=(Check(Fact.STAGE, Outcome.MET, ("junior",)),), not_in_force=("not_yet", D("2011-09-01")),
        on=D("2011-08-31"),
    )  # fmt: skip


def test_eligible_result_carries_the_date() -> None:
    entry = load_pack("national").item("free_tuition_textbooks")
    assert entry is not None
    result = evaluate_item(prof("primary", NONE), entry, D("2024-09-01"))
    assert (result.status, result.on, result.full_waiver) == (E, D("2024-09-01"), True)


def test_otherwise_is_a_household_check_for_the_school() -> None:
    """Covered 'otherwise' (rural or farming students): the school confirms the household condition."""
    entry = load_pack("national").item("sec_voc_free_tuition")
    assert entry is not None
    result = evaluate_item(prof("secondary_vocational", NONE), entry, D("2024-09-01"))
    assert entry.item.conditions.otherwise is not None
    assert result.checks[-1] == Check(
        Fact.HOUSEHOLD,
        Outcome.CONFIRM,
        tuple(entry.item.conditions.household_any),
        entry.item.conditions.otherwise,
    )


def test_stage_unknown_counts_an_item_running_only_once_some_stage_has_started() -> None:
    entry = load_pack("national").item("boarding_allowance")
    assert entry is not None
    before = evaluate_item(Profile(), entry, D("2010-09-01"))
    assert (before.status, before.not_in_force) == (N, ("not_yet", D("2011-09-01")))
    assert evaluate_item(Profile(), entry, D("2011-09-01")).status == P


def test_a_known_stage_is_judged_by_its_own_start(tmp_path: Path) -> None:
    """Per-stage amounts that start on different dates: a junior pupil waits for the junior start."""
    by_stage = {"primary": {D("2020-09-01"): 100}, "junior": {D("2022-09-01"): 200}}
    item = with_changes(
        stages=["primary", "junior"],
        conditions={},
        amount={"type": "fixed", "period": "year", "by_stage": by_stage},
    )
    write_pack(tmp_path, "county", [item])
    entry = load_pack("county", tmp_path).item("meal")
    assert entry is not None
    junior = evaluate_item(prof("junior"), entry, D("2021-09-01"))
    assert (junior.status, junior.not_in_force) == (N, ("not_yet", D("2022-09-01")))
    primary = evaluate_item(prof("primary"), entry, D("2021-09-01"))
    assert (primary.status, primary.amount) == (E, 100)
