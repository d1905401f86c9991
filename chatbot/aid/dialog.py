"""The /aid dialog: what aid can this child get? Asks only the facts that can change the answer.

Start: /aid, the /help button, or a free-text question ("我家孩子上初中住校，是建档立卡户，能领什么补助？").
A bound parent's child record supplies stage, boarding and household; free text supplies what it
states; the engine says which unknown facts still matter (chatbot.aid.engine.open_questions).
The answer ends the dialog; its detail buttons are stateless (the profile travels in the payload).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from chatbot.aid.engine import Fact, Profile, Status, evaluate, evaluate_item, open_questions, relevant_facts
from chatbot.aid.pack import FALLBACK_PACK, Pack, PackItem, load_pack, pack_for, pack_ids
from chatbot.aid.parse import Parsed, looks_like_aid_question, parse
from chatbot.aid.render import details, explain_item, flag_label, item_name, long_date, stage_label, summary
from chatbot.core.context import Context
from chatbot.core.flow import END, Flow, Outcome
from chatbot.core.messages import Button, Incoming, Reply
from chatbot.core.payloads import BadPayload, Payload, prefix_of
from chatbot.core.router import start_button
from chatbot.core.text import clean_text
from chatbot.i18n import N_, _
from chatbot.people.auth import Act, Target, can, children_of
from db.models import HOUSEHOLD_FLAGS, Region, School, SchoolClass, ScopeType, Stage, Student

STAGES = list(Stage)
YES_NO_FACTS = (Fact.PRESCHOOL_FINAL_YEAR, Fact.BOARDING, Fact.IN_PROVINCE)
MAX_DETAIL_BUTTONS = 8
# Each yes/no question with answers that repeat the fact, so a parent who reads little still knows.
YES_NO_QUESTIONS = {
    Fact.PRESCHOOL_FINAL_YEAR: (
        N_("Is this the final year of kindergarten (the year before primary school)?"),
        N_("Yes, the final year"),
        N_("No, not yet"),
    ),
    Fact.BOARDING: (
        N_("Does the child board (live) at school?"),
        N_("Yes, boards at school"),
        N_("No, lives at home"),
    ),
    Fact.IN_PROVINCE: (
        N_("Is the school in your home province?"),
        N_("Yes, in the home province"),
        N_("No, in another province"),
    ),
}


@dataclass(frozen=True)
class AidChild(Payload, prefix="aidk"):
    """Which child the question is about; 0 = someone else."""

    student_id: int


@dataclass(frozen=True)
class AidStage(Payload, prefix="aids"):
    stage: str


@dataclass(frozen=True)
class AidFact(Payload, prefix="aidf"):
    """A yes/no fact; value '1', '0' or 'x' (not sure)."""

    fact: str
    value: str


@dataclass(frozen=True)
class AidHousehold(Payload, prefix="aidh"):
    """Toggle a household flag, or 'none', 'done', 'unsure'."""

    choice: str


@dataclass(frozen=True)
class AidDetail(Payload, prefix="aidd"):
    """Details of one item for one profile (encoded by encode_profile) in one pack."""

    item: str
    pack_id: str
    profile: str


# --- profile in ctx.data and in payloads ----------------------------------------------------------


def _tri(value: bool | None) -> str:
    return "x" if value is None else ("1" if value else "0")


def _untri(text: str) -> bool | None:
    if text not in {"0", "1", "x"}:
        raise BadPayload(text)
    return None if text == "x" else text == "1"


def encode_profile(profile: Profile) -> str:
    """Six characters: stage index, final year, boarding, in-province, household bitmask (hex) or 'x'."""
    stage = "x" if profile.stage is None else str(STAGES.index(profile.stage))
    if profile.household is None:
        household = "xx"
    else:
        household = f"{sum(1 << i for i, f in enumerate(HOUSEHOLD_FLAGS) if f in profile.household):02x}"
    return (
        stage
        + _tri(profile.preschool_final_year)
        + _tri(profile.boarding)
        + _tri(profile.in_province)
        + household
    )


def decode_profile(code: str) -> Profile:
    if len(code) != 6:
        raise BadPayload(code)
    stage: Stage | None = None
    if code[0] != "x":
        if not code[0].isdecimal() or int(code[0]) >= len(STAGES):
            raise BadPayload(code)
        stage = STAGES[int(code[0])]
    household: frozenset[str] | None = None
    if code[4:] != "xx":
        try:
            mask = int(code[4:], 16)
        except ValueError as exc:
            raise BadPayload(code) from exc
        if mask >= 1 << len(HOUSEHOLD_FLAGS):
            raise BadPayload(code)
        household = frozenset(f for i, f in enumerate(HOUSEHOLD_FLAGS) if mask & (1 << i))
    return Profile(
        stage=stage,
        preschool_final_year=_untri(code[1]),
        boarding=_untri(code[2]),
        in_province=_untri(code[3]),
        household=household,
    )


def _profile(ctx: Context) -> Profile:
    p: dict[str, Any] = ctx.data.get("p") or {}
    household = p.get("household")
    return Profile(
        stage=Stage(p["stage"]) if p.get("stage") else None,
        preschool_final_year=p.get("preschool_final_year"),
        boarding=p.get("boarding"),
        in_province=p.get("in_province"),
        household=None if household is None else frozenset(household),
    )


def _store(ctx: Context, profile: Profile) -> None:
    ctx.data["p"] = {
        "stage": profile.stage.value if profile.stage else None,
        "preschool_final_year": profile.preschool_final_year,
        "boarding": profile.boarding,
        "in_province": profile.in_province,
        "household": None if profile.household is None else sorted(profile.household),
    }


def _today(ctx: Context) -> date:
    return ctx.now.astimezone(ZoneInfo(ctx.settings.timezone)).date()


def _pack(ctx: Context) -> Pack:
    return pack_for(ctx.data.get("pack"), _today(ctx))


def _region_pack(ctx: Context) -> str | None:
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


# --- steps -----------------------------------------------------------------------------------------


def start(ctx: Context, msg: Incoming) -> Outcome:
    """Read what the opening message says; explain one item, pick a child, or ask what is missing."""
    text = clean_text(msg.text)
    if text.startswith("/"):
        text = text.split(maxsplit=1)[1] if " " in text else ""
    ctx.data = {"pack": _region_pack(ctx), "p": {}, "asked": []}
    parsed = parse(text)
    notes: list[str] = []
    if text and not parsed.understood:
        notes.append(_("I could not read that as an aid question, so let's go step by step."))
    if parsed.items and not parsed.has_facts:
        return _explain(ctx, parsed.items)
    children = children_of(ctx.session, ctx.person)
    if parsed.has_facts and (parsed.stages or not children):
        notes += _apply(ctx, parsed)
        return ask_next(ctx, notes)
    # A parent who states facts but no stage ("我家是低保户…") means their own child: record first, text on top.
    ctx.data["text"] = text if parsed.has_facts else ""
    if len(children) == 1:
        notes.append(_use_child(ctx, children[0]))
        return ask_next(ctx, notes + _apply(ctx, parse(ctx.data.pop("text"))))
    if len(children) > 1:
        rows = [[Button(child.name, AidChild(child.id).pack())] for child in children]
        rows.append([Button(_("Someone else"), AidChild(0).pack())])
        return Outcome([*_notes(notes), Reply(_("Which child is it about?"), rows)], "child")
    return ask_next(ctx, notes)


def pick_child(ctx: Context, msg: Incoming) -> Outcome:
    """Use the chosen child's record (re-checked: only a guardian or staff in scope may)."""
    if msg.payload is None or prefix_of(msg.payload) != AidChild.prefix:
        return Outcome([Reply(_("Please tap one of the buttons."))], "child")
    choice = AidChild.unpack(msg.payload)
    stated = parse(ctx.data.pop("text", ""))
    if choice.student_id == 0:
        return ask_next(ctx, _apply(ctx, stated))
    if not can(ctx.session, ctx.person, Act.VIEW_STUDENT, Target.student(choice.student_id)):
        return Outcome([Reply(_("Sorry, you do not have permission to do that."))], END)
    student = ctx.session.get(Student, choice.student_id)
    assert student is not None
    note = _use_child(ctx, student)
    return ask_next(ctx, [note, *_apply(ctx, stated)])


def on_reply(ctx: Context, msg: Incoming) -> Outcome:
    """Take a stage or yes/no button, or facts typed as text; then ask the next question."""
    profile = _profile(ctx)
    prefix = prefix_of(msg.payload)
    if prefix == AidStage.prefix:
        chosen = AidStage.unpack(msg.payload)
        if chosen.stage not in {s.value for s in Stage}:
            raise BadPayload(msg.payload or "")
        _store(ctx, profile.with_fact(Fact.STAGE, Stage(chosen.stage)))
        return ask_next(ctx, [])
    if prefix == AidFact.prefix:
        answer = AidFact.unpack(msg.payload)
        if answer.fact not in {f.value for f in YES_NO_FACTS}:
            raise BadPayload(msg.payload or "")
        value = _untri(answer.value)
        if value is None:
            ctx.data.setdefault("asked", []).append(answer.fact)
        _store(ctx, profile.with_fact(Fact(answer.fact), value))
        return ask_next(ctx, [])
    if prefix == AidHousehold.prefix:
        return on_household(ctx, msg)
    parsed = parse(msg.text)
    if parsed.has_facts:
        return ask_next(ctx, _apply(ctx, parsed))
    return ask_next(ctx, [_("Sorry, I did not understand. Please tap one of the buttons.")])


def on_household(ctx: Context, msg: Incoming) -> Outcome:
    """Toggle household statuses; 'none of these', 'not sure' or 'done' moves on."""
    if prefix_of(msg.payload) != AidHousehold.prefix:
        return on_reply(ctx, msg)
    choice = AidHousehold.unpack(msg.payload).choice
    selected: list[str] = list(ctx.data.get("hh") or [])
    profile = _profile(ctx)
    if choice in HOUSEHOLD_FLAGS:
        selected = [f for f in selected if f != choice] if choice in selected else [*selected, choice]
        ctx.data["hh"] = selected
        return Outcome([_household_question(selected, edit=True)], "household")
    if choice == "none":
        _store(ctx, profile.with_fact(Fact.HOUSEHOLD, frozenset()))
    elif choice == "done":
        _store(ctx, profile.with_fact(Fact.HOUSEHOLD, frozenset(selected)))
    elif choice == "unsure":
        ctx.data.setdefault("asked", []).append(Fact.HOUSEHOLD.value)
    else:
        raise BadPayload(msg.payload or "")
    return ask_next(ctx, [])


def ask_next(ctx: Context, notes: list[str]) -> Outcome:
    """Ask the first unknown fact that can change the answer, or answer when none is left."""
    profile = _profile(ctx)
    pack = _pack(ctx)
    on = _today(ctx)
    if profile.stage is not None:
        notes = notes + _drop_irrelevant(ctx, profile, pack, on)
        profile = _profile(ctx)
    asked = set(ctx.data.get("asked") or [])
    missing = [f for f in open_questions(profile, pack, on) if f.value not in asked]
    if not missing:
        return _answer(ctx, profile, pack, on, notes)
    fact = missing[0]
    if fact == Fact.STAGE:
        rows = [[Button(stage_label(s), AidStage(s.value).pack())] for s in Stage]
        return Outcome([*_notes(notes), Reply(_("Which stage is the child at?"), rows)], "ask")
    if fact == Fact.HOUSEHOLD:
        ctx.data["hh"] = []
        return Outcome([*_notes(notes), _household_question([])], "household")
    question, yes, no = YES_NO_QUESTIONS[fact]
    rows = [
        [Button(_(yes), AidFact(fact.value, "1").pack())],
        [Button(_(no), AidFact(fact.value, "0").pack())],
        [Button(_("Not sure"), AidFact(fact.value, "x").pack())],
    ]
    return Outcome([*_notes(notes), Reply(_(question), rows)], "ask")


# --- helpers ---------------------------------------------------------------------------------------


def _notes(notes: list[str]) -> list[Reply]:
    return [Reply("\n".join(notes))] if notes else []


def _use_child(ctx: Context, student: Student) -> str:
    """Stage and boarding from the record; household only if the school recorded one. Says what it used."""
    school = student.school_class.school
    ctx.data["student"] = student.id
    ctx.data["pack"] = school.region.aid_pack
    household = [f for f in (student.household or []) if f in HOUSEHOLD_FLAGS]
    _store(
        ctx,
        Profile(
            stage=school.stage,
            boarding=bool(student.boarding),
            household=frozenset(household) if household else None,
            # A school in this bureau's region is in the home province.
            in_province=True,
        ),
    )
    facts = [stage_label(school.stage), _("boards at school") if student.boarding else _("does not board")]
    facts += [flag_label(f) for f in household]
    return _("From the school record of {name}: {facts}.").format(
        name=student.name, facts=_(", ").join(facts)
    )


def _apply(ctx: Context, parsed: Parsed) -> list[str]:
    """Merge what the text states into the profile; contradictions are reported and asked again."""
    profile = _profile(ctx)
    notes: list[str] = []
    conflicts = parsed.contradictions()
    if "stage" in conflicts:
        notes.append(
            _("You mentioned more than one stage ({stages}); a child is at one stage at a time.").format(
                stages=_(", ").join(stage_label(s) for s in sorted(parsed.stages))
            )
        )
        profile = profile.with_fact(Fact.STAGE, None)
    elif parsed.stages:
        profile = profile.with_fact(Fact.STAGE, next(iter(parsed.stages)))
    for fact, values in (
        (Fact.BOARDING, parsed.boarding),
        (Fact.IN_PROVINCE, parsed.in_province),
        (Fact.PRESCHOOL_FINAL_YEAR, parsed.preschool_final_year),
    ):
        if len(values) > 1:
            notes.append(_("You said it both ways, so I will ask again."))
        elif values:
            profile = profile.with_fact(fact, next(iter(values)))
    if "household" in conflicts:
        # "低保户，都不是": neither answer is taken; the household question comes again.
        notes.append(_("You said it both ways, so I will ask again."))
    elif parsed.household:
        profile = profile.with_fact(Fact.HOUSEHOLD, frozenset(parsed.household))
    elif parsed.household_none:
        profile = profile.with_fact(Fact.HOUSEHOLD, frozenset())
    _store(ctx, profile)
    return notes


def _drop_irrelevant(ctx: Context, profile: Profile, pack: Pack, on: date) -> list[str]:
    """Facts that do not matter at this stage (boarding at university) are dropped, and we say so."""
    assert profile.stage is not None
    relevant = relevant_facts(profile.stage, pack, on)
    notes = []
    if profile.boarding is not None and Fact.BOARDING not in relevant:
        if ctx.data.get("student") is None:
            notes.append(
                _("Boarding does not change the aid for {stage}, so I left it out.").format(
                    stage=stage_label(profile.stage)
                )
            )
        profile = profile.with_fact(Fact.BOARDING, None)
    if profile.preschool_final_year is not None and Fact.PRESCHOOL_FINAL_YEAR not in relevant:
        profile = profile.with_fact(Fact.PRESCHOOL_FINAL_YEAR, None)
    if profile.in_province is not None and Fact.IN_PROVINCE not in relevant:
        profile = profile.with_fact(Fact.IN_PROVINCE, None)
    _store(ctx, profile)
    return notes


def _household_question(selected: list[str], edit: bool = False) -> Reply:
    rows = [
        [Button(("✓ " if flag in selected else "") + flag_label(flag), AidHousehold(flag).pack())]
        for flag in HOUSEHOLD_FLAGS
    ]
    rows.append([Button(_("None of these"), AidHousehold("none").pack())])
    rows.append(
        [Button(_("Not sure"), AidHousehold("unsure").pack()), Button(_("Done"), AidHousehold("done").pack())]
    )
    return Reply(_("Is your family any of these? Tap all that apply, then Done."), rows, edit=edit)


def _answer(ctx: Context, profile: Profile, pack: Pack, on: date, notes: list[str]) -> Outcome:
    """The short answer with a details button per item and a start-over button."""
    results = evaluate(profile, pack, on)
    shown = [r for r in results if r.status != Status.NOT_ELIGIBLE]
    own = ctx.data.get("pack")
    if own and own != pack.id and own in pack_ids():
        regional = load_pack(own)
        notes = [
            *notes,
            _(
                "Your region's list ({pack}) is not in force on {date}; this answer uses the national rules."
            ).format(pack=regional.name.get(ctx.locale), date=long_date(on)),
        ]
    code = encode_profile(profile)
    rows = [
        [
            Button(
                _("Details: {item}").format(item=item_name(r.entry)),
                AidDetail(r.item_id, pack.id, code).pack(),
            )
        ]
        for r in shown[:MAX_DETAIL_BUTTONS]
    ]
    rows.append([start_button(_("Start over"), "aid")])
    return Outcome([*_notes(notes), Reply(summary(results, pack, on), rows)], END)


def _find_item(ctx: Context, item_id: str) -> PackItem | None:
    entry = _pack(ctx).item(item_id)
    return entry or load_pack(FALLBACK_PACK).item(item_id)


def _explain(ctx: Context, item_ids: list[str]) -> Outcome:
    """'What is …' / 'how do I apply for …': the item itself, without asking anything."""
    entries = [e for e in (_find_item(ctx, i) for i in item_ids[:2]) if e is not None]
    if not entries:
        return Outcome(
            [Reply(_("That aid is not in the list for your region. Ask the school's aid office."))]
        )
    replies = [Reply(explain_item(entry)) for entry in entries]
    replies[-1].buttons = [[start_button(_("What can my child get?"), "aid")]]
    return Outcome(replies, END)


def show_details(ctx: Context, msg: Incoming) -> list[Reply]:
    """Stateless details button: one item for the profile in the payload, evaluated today."""
    pressed = AidDetail.unpack(msg.payload)
    if pressed.pack_id not in pack_ids():
        raise BadPayload(msg.payload or "")
    profile = decode_profile(pressed.profile)
    entry = load_pack(pressed.pack_id).item(pressed.item)
    if entry is None:
        return [Reply(_("That button is not valid any more. Send /help to start again."))]
    result = evaluate_item(profile, entry, _today(ctx))
    return [Reply(details(result), [[start_button(_("Start over"), "aid")]])]


def _trigger(ctx: Context, text: str) -> bool:
    return looks_like_aid_question(text)


FLOW = Flow.create(
    "aid",
    start,
    {"child": pick_child, "ask": on_reply, "household": on_household},
    commands=("aid", "zizhu"),
    prefixes=(AidChild.prefix, AidStage.prefix, AidFact.prefix, AidHousehold.prefix),
    trigger=_trigger,
    trigger_priority=60,
    help=N_("student aid: what can my child get?"),
    help_order=20,
)
