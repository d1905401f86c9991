"""`python bot.py aid ...`: the JSON shape, the table, and exit code 2 for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
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


def _normalized(text: str) -> str:
    return " ".join(text.split())


def test_help_explains_every_option(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("--help", "--lang", "en")
    assert code == 0
    stages = (
        "{preschool,primary,junior,senior,secondary_vocational,higher_vocational,undergraduate,postgraduate}"
    )
    flags = "{registered_poor,dibao,tekun,orphan,disabled,none}"
    assert _normalized(out) == _normalized(
        f"""usage: bot.py aid [-h] --region REGION --on ON --stage {stages}
        [--preschool-final-year | --not-preschool-final-year] [--boarding | --not-boarding]
        [--household {flags}] [--in-province | --out-of-province] [--json] [--all]
        [--lang {{zh_Hans,zh_Hant,en}}]
        Which student aid a pupil can get in a region on a date (policy packs).
        options:
        -h, --help show this help message and exit
        --region REGION a pack id (national, linxia-2019) or a region code
        --on ON evaluation date, YYYY-MM-DD
        --stage {stages}
        --preschool-final-year
        --not-preschool-final-year
        --boarding
        --not-boarding
        --household {flags}
        household status; repeat for several; 'none' for none of them; leave out if unknown
        --in-province
        --out-of-province
        --json print one JSON object
        --all also list the items that do not apply
        --lang {{zh_Hans,zh_Hant,en}}
        language of names and explanations"""
    )


def test_aid_packs_help(
    shared_app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", shared_app.settings.database_url)
    with pytest.raises(SystemExit):
        main(["aid-packs", "--help", "--lang", "en"])
    assert _normalized(capsys.readouterr().out) == _normalized(
        """usage: bot.py aid-packs [-h] [--lang {zh_Hans,zh_Hant,en}]
        Validate the aid policy packs and list their items.
        options:
        -h, --help show this help message and exit
        --lang {zh_Hans,zh_Hant,en}
        language of the item names"""
    )


def _statuses(run, *args: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    code, out, err = run(*args, "--json", "--all")
    assert code == 0, err
    return {item["id"]: item["status"] for item in json.loads(out)["items"]}


NATIONAL_JUNIOR = ("--region", "national", "--on", "2024-09-01", "--stage", "junior")
LINXIA_SEC_VOC = ("--region", "linxia-2019", "--on", "2019-10-01", "--stage", "secondary_vocational")
NATIONAL_PRESCHOOL = (
    "--region",
    "national",
    "--on",
    "2025-09-01",
    "--stage",
    "preschool",
    "--household",
    "none",
)


@pytest.mark.parametrize(
    ("args", "item", "status"),
    [
        ((*NATIONAL_JUNIOR, "--household", "dibao", "--boarding"), "boarding_allowance", "eligible"),
        ((*NATIONAL_JUNIOR, "--household", "dibao", "--boarding"), "nonboarding_allowance", "not_eligible"),
        ((*NATIONAL_JUNIOR, "--household", "dibao", "--not-boarding"), "boarding_allowance", "not_eligible"),
        ((*NATIONAL_JUNIOR, "--household", "dibao", "--not-boarding"), "nonboarding_allowance", "eligible"),
        ((*NATIONAL_JUNIOR, "--household", "dibao"), "nonboarding_allowance", "possible"),
        (
            (*NATIONAL_JUNIOR, "--household", "none", "--not-boarding"),
            "nonboarding_allowance",
            "not_eligible",
        ),
        ((*NATIONAL_JUNIOR, "--not-boarding"), "nonboarding_allowance", "possible"),
        ((*LINXIA_SEC_VOC, "--household", "registered_poor", "--in-province"), "sec_voc_grant", "eligible"),
        (
            (*LINXIA_SEC_VOC, "--household", "registered_poor", "--out-of-province"),
            "sec_voc_grant",
            "not_eligible",
        ),
        ((*LINXIA_SEC_VOC, "--household", "registered_poor"), "sec_voc_grant", "possible"),
        ((*NATIONAL_PRESCHOOL, "--preschool-final-year"), "preschool_final_year_free", "eligible"),
        ((*NATIONAL_PRESCHOOL, "--not-preschool-final-year"), "preschool_final_year_free", "not_eligible"),
        (NATIONAL_PRESCHOOL, "preschool_final_year_free", "possible"),
    ],
)
def test_each_profile_flag_reaches_the_evaluation(run, args: tuple[str, ...], item: str, status: str) -> None:  # type: ignore[no-untyped-def]
    """Yes, no, or left out (unknown) for boarding, province, final kindergarten year and household."""
    assert _statuses(run, *args)[item] == status


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "mars", "--on", "2024-09-01", "--stage", "junior"],
         "Unknown region 'mars': give a pack id (linxia-2019, national) or a region code."),
        (["--region", "national", "--on", "2024-13-01", "--stage", "junior"],
         "Not a date in YYYY-MM-DD form: '2024-13-01'"),
        (["--region", "national", "--on", "2024-09-01", "--stage", "junior", "--household", "none",
          "--household", "dibao"],
         "--household none cannot be combined with other household flags."),
    ],
)  # fmt: skip
def test_bad_values_are_named_in_one_exact_line(run, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    assert run("--lang", "en", *args) == (2, "", message + "\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "national", "--stage", "junior"], "bot.py aid：错误：缺少必需的参数：--on"),
        (["--region", "national", "--on", "2024-09-01"], "bot.py aid：错误：缺少必需的参数：--stage"),
        (["--region", "national", "--on", "2024-09-01", "--stage", "junior", "--lang", "fr"],
         "bot.py aid：错误：参数 --lang：无效的选择：'fr'"),
    ],
)  # fmt: skip
def test_required_options_and_known_languages(run, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(*args)
    assert (code, out) == (2, "")
    assert message in err, err


def test_readable_output_is_the_header_then_the_table(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(*LINXIA_SEC_VOC, "--household", "registered_poor", "--in-province", "--lang", "en")
    assert code == 0
    assert out.splitlines() == [
        "Student aid (Linxia 2019 targeted-poverty student aid, on October 1, 2019):",
        "Eligibility  Item                                              Amount         Source pack",
        "-----------  ------------------------------------------------  -------------  -----------",
        "eligible     Free tuition at secondary vocational school       ¥2,000 a year  linxia-2019",
        "eligible     National grant for secondary vocational students  ¥2,000 a year  linxia-2019",
    ]


def test_readable_output_when_nothing_applies(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(*LINXIA_SEC_VOC, "--household", "registered_poor", "--out-of-province", "--lang", "en")
    assert code == 0
    assert out == (
        "Student aid (Linxia 2019 targeted-poverty student aid, on October 1, 2019):\n"
        "Nothing in this pack applies to that profile.\n"
    )


def test_json_is_indented_and_keeps_chinese_readable(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(*LINXIA_SEC_VOC, "--household", "registered_poor", "--in-province", "--json")
    assert code == 0
    assert out == json.dumps(json.loads(out), ensure_ascii=False, indent=2) + "\n"
    assert out.startswith('{\n  "region": "linxia-2019",\n  "on": "2019-10-01",\n  "items": [\n    {\n')
    assert '"name": "中职国家助学金"' in out


def test_an_invalid_pack_stops_the_command(run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import chatbot.aid.pack

    (tmp_path / "county.yaml").write_text(
        "id: county\nname: {zh_Hans: x, zh_Hant: x, en: x}\nitems: [{id: a}]\n"
    )
    monkeypatch.setattr(chatbot.aid.pack, "PACK_DIR", tmp_path)
    code, out, err = run(*NATIONAL_JUNIOR)
    assert (code, out) == (2, "")
    assert err.startswith(f"{tmp_path / 'county.yaml'}: item 'a', field 'kind': Field required\n")


def test_aid_packs_lists_every_item(
    shared_app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", shared_app.settings.database_url)
    assert main(["aid-packs", "--lang", "en"]) == 0
    assert capsys.readouterr().out.splitlines() == AID_PACKS_EN


def test_aid_packs_with_periods_open_at_one_end_and_a_chain_of_parents(
    shared_app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import chatbot.aid.pack
    from tests.aid.test_packs import GOOD_ITEM, write_pack

    write_pack(tmp_path, "county", [GOOD_ITEM], in_force_from=date(2020, 9, 1))
    write_pack(tmp_path, "town", [GOOD_ITEM], in_force_until=date(2022, 8, 31), parent="county")
    write_pack(tmp_path, "village", [], parent="town")
    monkeypatch.setattr(chatbot.aid.pack, "PACK_DIR", tmp_path)
    monkeypatch.setenv("DATABASE_URL", shared_app.settings.database_url)
    assert main(["aid-packs", "--lang", "en"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "county (Test): 1 items, in force 2020-09-01–…, inherits from: -",
        "  meal                         subsidy      county       Meal aid",
        "town (Test): 1 items, in force …–2022-08-31, inherits from: county",
        "  meal                         subsidy      town         Meal aid",
        "village (Test): 1 items, in force always, inherits from: town → county",
        "  meal                         subsidy      town         Meal aid",
    ]


# `aid-packs` in English: each pack with its period and parents, then its items.
AID_PACKS_EN = [
    "linxia-2019 (Linxia 2019 targeted-poverty student aid): 7 items, in force 2019-01-01–2020-12-31, inherits from: -",
    "  preschool_living_allowance   subsidy      linxia-2019  Living allowance for the final year of kindergarten",
    "  boarding_allowance           subsidy      linxia-2019  Living allowance for boarders from families in difficulty",
    "  senior_grant                 grant        linxia-2019  National grant for senior high school students",
    "  sec_voc_free_tuition         waiver       linxia-2019  Free tuition at secondary vocational school",
    "  sec_voc_grant                grant        linxia-2019  National grant for secondary vocational students",
    "  higher_voc_free_tuition      waiver       linxia-2019  Free tuition at higher vocational college",
    "  student_loan                 loan         linxia-2019  Home-county student loan",
    "national (National student aid): 15 items, in force always, inherits from: -",
    "  free_tuition_textbooks       waiver       national     Free tuition and textbooks (compulsory education)",
    "  boarding_allowance           subsidy      national     Living allowance for boarders from families in difficulty",
    "  nonboarding_allowance        subsidy      national     Living allowance for day pupils from families in difficulty",
    "  nutrition_meal               in_kind      national     Nutrition meals for rural pupils",
    "  preschool_final_year_free    waiver       national     Free final year of kindergarten",
    "  senior_grant                 grant        national     National grant for senior high school students",
    "  senior_fee_waiver            waiver       national     Senior high school fee waiver",
    "  sec_voc_free_tuition         waiver       national     Free tuition at secondary vocational school",
    "  sec_voc_grant                grant        national     National grant for secondary vocational students",
    "  undergrad_grant              grant        national     National grant for university and college students",
    "  encouragement_scholarship    scholarship  national     National encouragement scholarship",
    "  national_scholarship         scholarship  national     National scholarship (university and college)",
    "  student_loan                 loan         national     National student loan",
    "  postgrad_grant               grant        national     National grant for postgraduate students",
    "  green_channel                in_kind      national     Green channel for new university students",
]
