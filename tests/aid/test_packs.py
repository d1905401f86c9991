"""Packs are data validated on load: a bad pack fails naming its file, item and field."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from chatbot.aid.pack import PackError, load_all, load_pack, pack_for, value_on

GOOD_ITEM = {
    "id": "meal",
    "kind": "subsidy",
    "name": {"zh_Hans": "餐补", "zh_Hant": "餐補", "en": "Meal aid"},
    "description": {"zh_Hans": "每天补助。", "zh_Hant": "每天補助。", "en": "Daily help."},
    "stages": ["primary"],
    "conditions": {"household_any": ["dibao"]},
    "amount": {"type": "fixed", "period": "year", "values": {date(2020, 9, 1): 100, date(2023, 9, 1): 150}},
    "how_to_apply": "school",
    "source": {"document": "Test notice", "section": "§1", "date": "2020-08"},
}
APPLY = {
    "school": {
        loc: {"steps": ["Ask the school."], "where": "School", "when": "September"}
        for loc in ("zh_Hans", "zh_Hant", "en")
    }
}


def write_pack(directory: Path, pack_id: str, items: list[dict[str, object]], **extra: object) -> Path:
    data = {
        "id": pack_id,
        "name": {"zh_Hans": "测试", "zh_Hant": "測試", "en": "Test"},
        "apply": APPLY,
        "items": items,
        **extra,
    }
    path = directory / f"{pack_id}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def with_changes(**changes: object) -> dict[str, object]:
    item = {**GOOD_ITEM}
    for key, value in changes.items():
        if value is None:
            item.pop(key, None)
        else:
            item[key] = value
    return item


def test_shipped_packs_are_valid() -> None:
    packs = {pack.id: pack for pack in load_all()}
    assert set(packs) == {"national", "linxia-2019"}
    assert len(packs["national"].items) == 15
    assert len(packs["linxia-2019"].items) == 7
    for pack in packs.values():
        for entry in pack.items:
            assert entry.item.source.document and entry.item.source.section
            assert set(entry.how_to_apply) == {"zh_Hans", "zh_Hant", "en"}


def test_every_linxia_item_requires_registered_poor() -> None:
    for entry in load_pack("linxia-2019").items:
        assert entry.item.conditions.household_any == ["registered_poor"], entry.id
        assert "seed 001" in entry.item.source.document


@pytest.mark.parametrize(
    ("item", "field", "message"),
    [
        (with_changes(amount={"type": "fixed", "period": "year"}), "amount", "needs values or by_stage"),
        (with_changes(amount=None), "amount", "Field required"),
        (with_changes(amount={"type": "fixed", "values": {date(2020, 1, 1): 5}}), "amount", "needs a period"),
        (with_changes(kind="loan"), "(whole)", "a loan needs amount.type: ceiling"),
        (with_changes(kind="grant", amount={"type": "full"}), "(whole)", "only a waiver"),
        (with_changes(stages=["nursery"]), "stages.0", "Input should be"),
        (with_changes(stages=[]), "stages", "at least 1"),
        (with_changes(name={"zh_Hans": "餐补", "en": "Meal"}), "name.zh_Hant", "Field required"),
        (
            with_changes(conditions={"household_any": ["rich"]}),
            "conditions.household_any.0",
            "Input should be",
        ),
        (with_changes(conditions={"boarding": "sometimes"}), "conditions.boarding", "valid boolean"),
        (
            with_changes(source={"document": "X", "section": "1", "date": "last year"}),
            "source.date",
            "pattern",
        ),
        (with_changes(colour="red"), "colour", "Extra inputs"),
        (
            with_changes(amount={"type": "fixed", "period": "year", "values": {date(2020, 1, 1): -5}}),
            "amount.values",
            "negative",
        ),
        (
            with_changes(
                amount={"type": "fixed", "period": "year", "by_stage": {"junior": {date(2020, 1, 1): 5}}}
            ),
            "(whole)",
            "by_stage must cover exactly",
        ),
    ],
)
def test_bad_item_names_file_item_and_field(
    tmp_path: Path, item: dict[str, object], field: str, message: str
) -> None:
    path = write_pack(tmp_path, "bad", [item])
    with pytest.raises(PackError) as raised:
        load_pack("bad", tmp_path)
    text = str(raised.value)
    assert str(path) in text
    assert "item 'meal'" in text
    assert f"field {field!r}" in text
    assert re.search(re.escape(message), text, re.IGNORECASE), text


def test_unknown_apply_template_is_named(tmp_path: Path) -> None:
    path = write_pack(tmp_path, "bad", [with_changes(how_to_apply="office")])
    with pytest.raises(
        PackError, match=re.escape(f"{path}: item 'meal', field 'how_to_apply': no template 'office'")
    ):
        load_pack("bad", tmp_path)


def test_an_item_without_an_id_is_named_by_position(tmp_path: Path) -> None:
    write_pack(tmp_path, "bad", [GOOD_ITEM, with_changes(id=None)])
    with pytest.raises(PackError, match=r"item '#2', field 'id': Field required"):
        load_pack("bad", tmp_path)


def test_pack_level_errors(tmp_path: Path) -> None:
    write_pack(tmp_path, "dupe", [GOOD_ITEM, GOOD_ITEM])
    with pytest.raises(PackError, match="appears twice"):
        load_pack("dupe", tmp_path)
    write_pack(tmp_path, "renamed", [GOOD_ITEM], id="other")
    with pytest.raises(PackError, match="must match the file name"):
        load_pack("renamed", tmp_path)
    write_pack(tmp_path, "orphan", [GOOD_ITEM], parent="missing")
    with pytest.raises(PackError, match="field 'parent': no pack 'missing'"):
        load_pack("orphan", tmp_path)
    (tmp_path / "broken.yaml").write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(PackError, match="not valid YAML"):
        load_pack("broken", tmp_path)
    with pytest.raises(PackError, match="no such pack file"):
        load_pack("absent", tmp_path)


def test_parent_cycle_is_refused(tmp_path: Path) -> None:
    write_pack(tmp_path, "a", [GOOD_ITEM], parent="b")
    write_pack(tmp_path, "b", [GOOD_ITEM], parent="a")
    with pytest.raises(PackError, match="cycle"):
        load_pack("a", tmp_path)


def test_child_pack_inherits_and_overrides_in_place(tmp_path: Path) -> None:
    other = with_changes(id="books", kind="waiver", amount={"type": "full"})
    write_pack(tmp_path, "base", [GOOD_ITEM, other])
    cheaper = with_changes(amount={"type": "fixed", "period": "term", "values": {date(2021, 1, 1): 80}})
    extra = with_changes(id="bus", amount={"type": "fixed", "period": "day", "values": {date(2021, 1, 1): 2}})
    write_pack(tmp_path, "county", [cheaper, extra], parent="base")
    pack = load_pack("county", tmp_path)
    assert [e.id for e in pack.items] == ["meal", "books", "bus"]
    assert [e.source_pack for e in pack.items] == ["county", "base", "county"]
    assert pack.chain == ("county", "base")
    meal = pack.item("meal")
    assert (
        meal is not None and meal.item.amount.period is not None and meal.item.amount.period.value == "term"
    )


def test_a_bad_pack_stops_the_start_with_one_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chatbot.aid.pack
    from chatbot.aid.flows import validate_packs_or_exit

    path = write_pack(tmp_path, "county", [with_changes(amount={"type": "fixed", "period": "year"})])
    monkeypatch.setattr(chatbot.aid.pack, "PACK_DIR", tmp_path)
    with pytest.raises(SystemExit) as stopped:
        validate_packs_or_exit()
    assert str(stopped.value) == (
        f"invalid aid policy pack:\n{path}: item 'meal', field 'amount': "
        "a fixed amount needs values or by_stage (the sums in yuan)"
    )


def test_a_field_that_takes_a_key_or_a_mapping_is_named_without_pydantic_labels(tmp_path: Path) -> None:
    path = write_pack(tmp_path, "bad", [with_changes(how_to_apply=5)])
    with pytest.raises(PackError) as raised:
        load_pack("bad", tmp_path)
    assert str(raised.value) == (
        f"{path}: item 'meal', field 'how_to_apply': Input should be a valid string\n"
        f"{path}: item 'meal', field 'how_to_apply': Input should be a valid dictionary"
    )


def test_a_pack_level_field_is_named_without_an_item(tmp_path: Path) -> None:
    path = write_pack(tmp_path, "bad", [GOOD_ITEM], name=5)
    with pytest.raises(PackError) as raised:
        load_pack("bad", tmp_path)
    assert str(raised.value).startswith(f"{path}: field 'name': Input should be a valid dictionary")


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(PackError) as raised:
        load_pack("list", tmp_path)
    assert str(raised.value) == f"{path}: a pack must be a mapping with id, name and items"


def test_an_empty_dated_series_and_a_zero_value(tmp_path: Path) -> None:
    path = write_pack(
        tmp_path, "bad", [with_changes(amount={"type": "fixed", "period": "year", "values": {}})]
    )
    with pytest.raises(PackError) as raised:
        load_pack("bad", tmp_path)
    assert str(raised.value) == f"{path}: item 'meal', field 'amount.values': needs at least one dated value"
    # Zero (and a fraction of a yuan) is a valid amount; only negative values are refused.
    free = {"type": "fixed", "period": "day", "values": {date(2020, 9, 1): 0, date(2021, 9, 1): 0.5}}
    write_pack(tmp_path, "zero", [with_changes(amount=free)])
    meal = load_pack("zero", tmp_path).item("meal")
    assert meal is not None and meal.item.amount.values == {
        date(2020, 9, 1): 0,
        date(2021, 9, 1): Decimal("0.5"),
    }


def test_the_cycle_is_spelled_out(tmp_path: Path) -> None:
    write_pack(tmp_path, "a", [GOOD_ITEM], parent="b")
    write_pack(tmp_path, "b", [GOOD_ITEM], parent="a")
    with pytest.raises(PackError) as raised:
        load_pack("a", tmp_path)
    assert str(raised.value) == f"{tmp_path / 'a.yaml'}: field 'parent': cycle a → b → a"


def test_load_all_reads_only_the_given_folder(tmp_path: Path) -> None:
    write_pack(tmp_path, "county", [GOOD_ITEM])
    assert [pack.id for pack in load_all(tmp_path)] == ["county"]


def test_fallback_is_the_national_pack_of_the_same_folder(tmp_path: Path) -> None:
    write_pack(tmp_path, "national", [GOOD_ITEM])
    write_pack(tmp_path, "county", [with_changes(id="bus")], in_force_until=date(2020, 12, 31))
    assert [e.id for e in pack_for("county", date(2020, 1, 1), tmp_path).items] == ["bus"]
    assert [e.id for e in pack_for("county", date(2021, 1, 1), tmp_path).items] == ["meal"]
    assert [e.id for e in pack_for(None, date(2021, 1, 1), tmp_path).items] == ["meal"]


def test_pack_text_falls_back_to_simplified_chinese_for_another_locale() -> None:
    name = load_pack("national").name
    assert (name.get("en"), name.get("fr")) == ("National student aid", name.zh_Hans)


def test_a_series_without_values_is_not_in_force() -> None:
    assert value_on(None, date(2024, 9, 1)) == (False, None)
    assert value_on({date(2024, 9, 1): Decimal(5)}, date(2024, 8, 31)) == (False, None)
    assert value_on({date(2024, 9, 1): Decimal(5)}, date(2024, 9, 1)) == (True, Decimal(5))
