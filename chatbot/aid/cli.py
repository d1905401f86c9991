"""`python bot.py aid ...`: evaluate a profile against a region's pack, as JSON or a readable table."""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from sqlalchemy import select

from chatbot.aid.engine import Profile, Status, evaluate
from chatbot.aid.pack import PackError, load_all, pack_for, pack_ids
from chatbot.aid.render import item_name, result_json, summary_header, table
from chatbot.app import App
from chatbot.commands import add_command, fail
from chatbot.i18n import LOCALES, _, get_locale
from db.models import HOUSEHOLD_FLAGS, Region, Stage


def register(sub: Any) -> None:
    parser = add_command(
        sub,
        "aid",
        cmd_aid,
        _("Which student aid a pupil can get in a region on a date (policy packs)."),
    )
    parser.add_argument(
        "--region", required=True, help=_("a pack id (national, linxia-2019) or a region code")
    )
    parser.add_argument("--on", required=True, help=_("evaluation date, YYYY-MM-DD"))
    parser.add_argument("--stage", required=True, choices=[s.value for s in Stage])
    pfy = parser.add_mutually_exclusive_group()
    pfy.add_argument("--preschool-final-year", dest="preschool_final_year", action="store_const", const=True)
    pfy.add_argument(
        "--not-preschool-final-year", dest="preschool_final_year", action="store_const", const=False
    )
    boarding = parser.add_mutually_exclusive_group()
    boarding.add_argument("--boarding", dest="boarding", action="store_const", const=True)
    boarding.add_argument("--not-boarding", dest="boarding", action="store_const", const=False)
    parser.add_argument(
        "--household",
        action="append",
        choices=[*HOUSEHOLD_FLAGS, "none"],
        help=_("household status; repeat for several; 'none' for none of them; leave out if unknown"),
    )
    province = parser.add_mutually_exclusive_group()
    province.add_argument("--in-province", dest="in_province", action="store_const", const=True)
    province.add_argument("--out-of-province", dest="in_province", action="store_const", const=False)
    parser.add_argument("--json", action="store_true", help=_("print one JSON object"))
    parser.add_argument("--all", action="store_true", help=_("also list the items that do not apply"))
    parser.add_argument("--lang", choices=list(LOCALES), help=_("language of names and explanations"))
    packs = add_command(
        sub, "aid-packs", cmd_aid_packs, _("Validate the aid policy packs and list their items.")
    )
    packs.add_argument("--lang", choices=list(LOCALES), help=_("language of the item names"))


def _pack_id_for(region: str, app: App) -> str | None:
    """A pack id as given, else the pack of the region with that code; None if neither exists."""
    if region in pack_ids():
        return region
    with app.session_factory() as session:
        found = session.scalars(select(Region).where(Region.code == region)).one_or_none()
        if found is None:
            return None
        return found.aid_pack or "national"


def cmd_aid(args: argparse.Namespace, app: App) -> int:
    try:
        load_all()
    except PackError as exc:
        return fail(str(exc))
    try:
        on = date.fromisoformat(args.on)
    except ValueError:
        return fail(_("Not a date in YYYY-MM-DD form: {text!r}").format(text=args.on))
    household = args.household
    if household and "none" in household and len(household) > 1:
        return fail(_("--household none cannot be combined with other household flags."))
    pack_id = _pack_id_for(args.region, app)
    if pack_id is None:
        return fail(
            _("Unknown region {region!r}: give a pack id ({packs}) or a region code.").format(
                region=args.region, packs=", ".join(pack_ids())
            )
        )
    profile = Profile(
        stage=Stage(args.stage),
        preschool_final_year=args.preschool_final_year,
        boarding=args.boarding,
        household=None if not household else frozenset(f for f in household if f != "none"),
        in_province=args.in_province,
    )
    pack = pack_for(pack_id, on)
    results = evaluate(profile, pack, on)
    shown = [r for r in results if args.all or r.status != Status.NOT_ELIGIBLE]
    if args.json:
        payload = {"region": args.region, "on": on.isoformat(), "items": [result_json(r) for r in shown]}
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    print(summary_header(pack, on))
    print(table(shown) if shown else _("Nothing in this pack applies to that profile."))
    return 0


def cmd_aid_packs(args: argparse.Namespace, app: App) -> int:
    """Check every pack (after editing YAML) and show what each contains: exit 2 with the error if invalid."""
    try:
        packs = load_all()
    except PackError as exc:
        return fail(str(exc))
    for pack in packs:
        period = "–".join(d.isoformat() if d else "…" for d in (pack.in_force_from, pack.in_force_until))
        print(
            _("{pack} ({name}): {count} items, in force {period}, inherits from: {chain}").format(
                pack=pack.id,
                name=pack.name.get(get_locale()),
                count=len(pack.items),
                period=period if pack.in_force_from or pack.in_force_until else _("always"),
                chain=" → ".join(pack.chain[1:]) or "-",
            )
        )
        for entry in pack.items:
            print(f"  {entry.id:<28} {entry.item.kind.value:<12} {entry.source_pack:<12} {item_name(entry)}")
    return 0
