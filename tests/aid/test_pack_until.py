"""Dated items: an item valid `until` a date is offered on that last day and not the day after (and one
valid `since` a date from that day on). Packs are written to a temporary directory and evaluated by the
real engine, as the aid CLI and the /aid dialog do.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from chatbot.aid.engine import Profile, Status, evaluate, items_opening
from chatbot.aid.pack import Pack, load_pack, pack_for
from chatbot.aid.render import reason_text, result_json
from chatbot.i18n import use_locale
from db.models import Stage
from tests.aid.test_packs import GOOD_ITEM, write_pack

SINCE = date(2025, 3, 1)
UNTIL = date(2026, 12, 31)
DIBAO_PUPIL = Profile(stage=Stage.PRIMARY, household=frozenset({"dibao"}))


def dated_pack(directory: Path) -> Pack:
    """One item running from SINCE to UNTIL (applications open in November), one that always runs."""
    dated = {**GOOD_ITEM, "id": "winter_coat", "since": SINCE, "until": UNTIL, "opens_month": 11}
    always = {**GOOD_ITEM, "id": "meal", "opens_month": 11}
    write_pack(directory, "dated", [dated, always])
    return load_pack("dated", directory)


def status_on(pack: Pack, on: date, profile: Profile = DIBAO_PUPIL) -> dict[str, Status]:
    return {result.item_id: result.status for result in evaluate(profile, pack, on)}


@pytest.mark.parametrize(
    ("on", "offered"),
    [
        pytest.param(SINCE - timedelta(days=1), False, id="the day before since"),
        pytest.param(SINCE, True, id="the first day"),
        pytest.param(UNTIL - timedelta(days=1), True, id="the day before until"),
        pytest.param(UNTIL, True, id="the last day"),
        pytest.param(UNTIL + timedelta(days=1), False, id="the day after until"),
        pytest.param(UNTIL + timedelta(days=365), False, id="a year later"),
    ],
)
def test_an_item_is_offered_from_since_through_until_inclusive(
    tmp_path: Path, on: date, offered: bool
) -> None:
    pack = dated_pack(tmp_path)
    statuses = status_on(pack, on)
    assert statuses["winter_coat"] == (Status.ELIGIBLE if offered else Status.NOT_ELIGIBLE)
    assert statuses["meal"] == Status.ELIGIBLE  # the undated item is the control
    # A profile whose stage is still unknown sees the same window.
    unknown_stage = status_on(pack, on, Profile(household=frozenset({"dibao"})))
    assert (unknown_stage["winter_coat"] != Status.NOT_ELIGIBLE) is offered


def test_the_last_day_pays_the_amount_and_the_day_after_says_it_ended(tmp_path: Path) -> None:
    pack = dated_pack(tmp_path)
    last_day = {r.item_id: r for r in evaluate(DIBAO_PUPIL, pack, UNTIL)}["winter_coat"]
    assert last_day.amount == Decimal(150) and last_day.not_in_force is None
    after = {r.item_id: r for r in evaluate(DIBAO_PUPIL, pack, UNTIL + timedelta(days=1))}["winter_coat"]
    assert after.not_in_force == ("ended", UNTIL)
    assert after.amount is None
    with use_locale("en"):
        assert reason_text(after).startswith("no longer in force on that date (ended ")
        assert result_json(after)["status"] == "not_eligible"
    before = {r.item_id: r for r in evaluate(DIBAO_PUPIL, pack, SINCE - timedelta(days=1))}["winter_coat"]
    assert before.not_in_force == ("not_yet", SINCE)


def test_application_reminders_include_the_item_only_while_it_runs(tmp_path: Path) -> None:
    pack = dated_pack(tmp_path)
    # UNTIL is 31 December: a November reminder on its last day still names it, the next day's does not.
    assert [e.id for e in items_opening(pack, 11, UNTIL)] == ["winter_coat", "meal"]
    assert [e.id for e in items_opening(pack, 11, UNTIL + timedelta(days=1))] == ["meal"]


def test_a_regional_pack_is_used_through_its_last_day_then_the_national_one(tmp_path: Path) -> None:
    write_pack(tmp_path, "national", [{**GOOD_ITEM, "id": "meal"}])
    write_pack(
        tmp_path, "county", [{**GOOD_ITEM, "id": "county_meal"}], parent="national", in_force_until=UNTIL
    )
    assert pack_for("county", UNTIL, tmp_path).id == "county"
    assert pack_for("county", UNTIL + timedelta(days=1), tmp_path).id == "national"
