"""The /aid dialog's scratch data: the profile kept in ctx.data, the day and the policy pack it uses."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from chatbot.aid.engine import Profile
from chatbot.aid.pack import Pack, pack_for
from chatbot.core.context import Context
from chatbot.people.auth import children_of
from db.models import Region, School, SchoolClass, ScopeType, Stage

# --- the profile in ctx.data -----------------------------------------------------------------------


def profile_of(ctx: Context) -> Profile:
    p: dict[str, Any] = ctx.data.get("p") or {}
    household = p.get("household")
    return Profile(
        stage=Stage(p["stage"]) if p.get("stage") else None,
        preschool_final_year=p.get("preschool_final_year"),
        boarding=p.get("boarding"),
        in_province=p.get("in_province"),
        household=None if household is None else frozenset(household),
    )


def store_profile(ctx: Context, profile: Profile) -> None:
    ctx.data["p"] = {
        "stage": profile.stage.value if profile.stage else None,
        "preschool_final_year": profile.preschool_final_year,
        "boarding": profile.boarding,
        "in_province": profile.in_province,
        "household": None if profile.household is None else sorted(profile.household),
    }


def school_day(ctx: Context) -> date:
    return ctx.now.astimezone(ZoneInfo(ctx.settings.timezone)).date()


def pack_of(ctx: Context) -> Pack:
    return pack_for(ctx.data.get("pack"), school_day(ctx))


def region_pack(ctx: Context) -> str | None:
    """The pack of the asker's region: their children's school, else where they work; None = national."""
    children = children_of(ctx.session, ctx.person)
    if children:
        return children[0].school_class.school.region.aid_pack
    for membership in ctx.person.memberships if ctx.person else []:
        region: Region | None = None
        if membership.scope_type == ScopeType.REGION:
            region = ctx.session.get(Region, membership.scope_id)
        elif membership.scope_type == ScopeType.SCHOOL:
            school = ctx.session.get(School, membership.scope_id)
            region = school.region if school else None
        else:
            klass = ctx.session.get(SchoolClass, membership.scope_id)
            region = klass.school.region if klass else None
        if region is not None:
            return region.aid_pack
    return None
