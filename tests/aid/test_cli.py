"""`python bot.py aid ...`: the JSON shape, the table, and exit code 2 for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chatbot.app import App
from chatbot.cli import main

BOT = Path(__file__).resolve().parents[2] / "bot.py"
OWN_SETTINGS = ("DATABASE_URL", "TELEGRAM_TOKEN", "WECHAT_TOKEN", "TIMEZONE", "DEFAULT_LOCALE", "LOG_LEVEL")

ITEM_KEYS = {
    "id",
    "source_pack",
    "name",
    "kind",
    "status",
    "amount_yuan",
    "max_amount_yuan",
    "period",
    "why",
    "how_to_apply",
    "source",
}


@pytest.fixture
def run(shared_app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", shared_app.settings.database_url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")

    def invoke(*args: str) -> tuple[int, str, str]:
        try:
            code = main(["aid", *args])
        except SystemExit as exc:  # argparse refuses unknown flags and values itself
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_json_shape_for_a_junior_boarder_across_the_2024_change(run) -> None:  # type: ignore[no-untyped-def]
    base = ["--region", "national", "--stage", "junior", "--boarding", "--household", "dibao", "--json"]
    for on, amount in (("2023-09-01", 1250), ("2024-09-01", 1500)):
        code, out, err = run(*base, "--on", on)
        assert code == 0, err
        data = json.loads(out)
        assert set(data) == {"region", "on", "items"}
        assert data["region"] == "national" and data["on"] == on
        for item in data["items"]:
            assert set(item) == ITEM_KEYS
            assert item["status"] in {"eligible", "possible"}
            assert set(item["how_to_apply"]) == {"steps", "documents", "where", "when"}
            assert {"document", "section", "date"} <= set(item["source"])
        by_id = {i["id"]: i for i in data["items"]}
        boarding = by_id["boarding_allowance"]
        assert (boarding["amount_yuan"], boarding["period"], boarding["status"]) == (
            amount,
            "year",
            "eligible",
        )
        assert boarding["source_pack"] == "national" and boarding["kind"] == "subsidy"
        assert by_id["free_tuition_textbooks"]["amount_yuan"] is None
        assert by_id["nutrition_meal"]["status"] == "possible"
        assert "nonboarding_allowance" not in by_id


def test_linxia_seed_amounts_and_the_all_flag(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(
        "--region", "linxia-2019", "--on", "2019-10-01", "--stage", "secondary_vocational",
        "--household", "registered_poor", "--in-province", "--json", "--lang", "en",
    )  # fmt: skip
    assert code == 0
    items = {i["id"]: i for i in json.loads(out)["items"]}
    assert {k: (v["amount_yuan"], v["status"]) for k, v in items.items()} == {
        "sec_voc_free_tuition": (2000, "eligible"),
        "sec_voc_grant": (2000, "eligible"),
    }
    assert items["sec_voc_grant"]["name"] == "National grant for secondary vocational students"
    code, out, _ = run(
        "--region", "linxia-2019", "--on", "2019-10-01", "--stage", "postgraduate",
        "--household", "registered_poor", "--json", "--all",
    )  # fmt: skip
    items = {i["id"]: i for i in json.loads(out)["items"]}
    assert len(items) == 7
    assert (items["student_loan"]["amount_yuan"], items["student_loan"]["max_amount_yuan"]) == (None, 12000)
    assert items["senior_grant"]["status"] == "not_eligible"
    assert items["senior_grant"]["why"] == ["只适用于：普通高中"]


def test_region_code_resolves_through_the_database(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("--region", "linxia-demo", "--on", "2019-10-01", "--stage", "primary", "--boarding",
                       "--household", "registered_poor", "--json")  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert data["region"] == "linxia-demo"
    assert [(i["id"], i["source_pack"], i["amount_yuan"]) for i in data["items"]] == [
        ("boarding_allowance", "linxia-2019", 1000)
    ]
    # After the plan's period the demo region falls back to the national pack.
    code, out, _ = run("--region", "linxia-demo", "--on", "2026-11-23", "--stage", "primary", "--boarding",
                       "--household", "registered_poor", "--json")  # fmt: skip
    assert {i["source_pack"] for i in json.loads(out)["items"]} == {"national"}


def test_readable_table_in_each_language(run) -> None:  # type: ignore[no-untyped-def]
    args = [
        "--region",
        "national",
        "--on",
        "2024-09-01",
        "--stage",
        "junior",
        "--boarding",
        "--household",
        "dibao",
    ]
    code, out, _ = run(*args)
    assert code == 0
    assert "家庭经济困难寄宿生生活补助" in out and "每年1,500元" in out and "可以领" in out
    assert "请确认" in out  # the nutrition programme's pilot-area check
    code, out, _ = run(*args, "--lang", "en")
    assert "Living allowance for boarders from families in difficulty" in out and "¥1,500 a year" in out
    code, out, _ = run(*args, "--lang", "zh_Hant")
    assert "家庭經濟困難寄宿生生活補助" in out and "每年1,500元" in out


BAD_INPUT = [
    (["--region", "mars", "--on", "2024-09-01", "--stage", "junior"], "Unknown region 'mars'"),
    (["--region", "national", "--on", "2024-13-01", "--stage", "junior"], "Not a date"),
    (["--region", "national", "--on", "2024-09-01", "--stage", "nursery"], "invalid choice"),
    (
        ["--region", "national", "--on", "2024-09-01", "--stage", "junior", "--household", "rich"],
        "invalid choice",
    ),
    (["--region", "national", "--on", "2024-09-01", "--stage", "junior", "--colour"], "unrecognized"),
    (
        [
            "--region",
            "national",
            "--on",
            "2024-09-01",
            "--stage",
            "junior",
            "--boarding",
            "--not-boarding",
        ],
        "not allowed with",
    ),
    (
        [
            "--region",
            "national",
            "--on",
            "2024-09-01",
            "--stage",
            "junior",
            "--in-province",
            "--out-of-province",
        ],
        "not allowed with",
    ),
    (
        [
            "--region",
            "national",
            "--on",
            "2024-09-01",
            "--stage",
            "junior",
            "--household",
            "none",
            "--household",
            "dibao",
        ],
        "cannot be combined",
    ),
    (["--on", "2024-09-01", "--stage", "junior"], "required"),
]


def test_bad_input_is_one_clear_error_and_exit_2(run) -> None:  # type: ignore[no-untyped-def]
    for args, message in BAD_INPUT:
        code, out, err = run("--lang", "en", *args)
        assert (code, out) == (2, ""), args
        assert message in err, (args, err)


@pytest.mark.subprocess
def test_real_subprocess(shared_app: App, tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k not in OWN_SETTINGS}
    env.update(DATABASE_URL=shared_app.settings.database_url, LOG_LEVEL="WARNING")
    ok = subprocess.run(
        [sys.executable, str(BOT), "aid", "--region", "national", "--on", "2024-09-01", "--stage", "undergraduate",
         "--household", "dibao", "--json"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    loan = next(i for i in json.loads(ok.stdout)["items"] if i["id"] == "student_loan")
    assert loan["max_amount_yuan"] == 20000


def test_aid_packs_lists_and_validates(
    shared_app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import chatbot.aid.pack

    monkeypatch.setenv("DATABASE_URL", shared_app.settings.database_url)
    assert main(["aid-packs", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert (
        "linxia-2019 (Linxia 2019 targeted-poverty student aid): 7 items, in force 2019-01-01–2020-12-31"
        in out
    )
    assert "national (National student aid): 15 items, in force always" in out
    (tmp_path / "county.yaml").write_text(
        "id: county\nname: {zh_Hans: x, zh_Hant: x, en: x}\nitems: [{id: a}]\n"
    )
    monkeypatch.setattr(chatbot.aid.pack, "PACK_DIR", tmp_path)
    assert main(["aid-packs"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'county.yaml'}: item 'a', field 'kind': Field required" in err
