"""The /aid dialog: what aid can this child get? Asks only the facts that can change the answer.

Start: /aid, the /help button, or a free-text question ("我家孩子上初中住校，是建档立卡户，能领什么补助？").
A bound parent's child record supplies stage, boarding and household; free text supplies what it
states; the engine says which unknown facts still matter (chatbot.aid.engine.open_questions).
The answer ends the dialog and says which facts it used; its detail buttons are stateless (the
profile travels in the payload). Ticked household flags are never dropped silently: "none of these"
or "not sure" with flags ticked asks first (state clear_ticks), and typed answers keep the ticks.
The profile in ctx.data lives in chatbot.aid.profile_state.
Diagram: aid.mmd; questions and answers are drawn by chatbot.aid.questions.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from chatbot.aid.engine import Fact, Profile, evaluate, evaluate_item, open_questions, relevant_facts
from chatbot.aid.pack import FALLBACK_PACK, Pack, PackItem, load_pack, pack_ids
from chatbot.aid.parse import Parsed, looks_like_aid_question, parse
from chatbot.aid.payloads import (
    CLEARING_ENDINGS,
    AidChild,
    AidClearTicks,
    AidDetail,
    AidFact,
    AidHousehold,
    AidStage,
    HouseholdChoice,
    decode_profile,
    encode_profile,
)
from chatbot.aid.profile_state import pack_of, profile_of, region_pack, school_day, store_profile
from chatbot.aid.questions import (
    FLOW_NAME,
    YES_NO_FACTS,
    answer_reply,
    child_question,
    clear_ticks_question,
    details_reply,
    explained,
    household_question,
    notes_reply,
    stage_question,
    yes_no_question,
)
from chatbot.aid.render import details, flag_label, long_date, stage_label
from chatbot.core.context import Context
from chatbot.core.flow import END, Entry, Flow, On, Outcome, State
from chatbot.core.messages import Incoming, Reply
from chatbot.core.payloads import BadPayload, Payload
from chatbot.core.text import clean_text
from chatbot.i18n import N_, _
from chatbot.people.auth import Act, Target, can, children_of
from db.models import HOUSEHOLD_FLAGS, Student

# The profile code is part of this module's interface (tests and detail buttons use it).
__all__ = ["FLOW", "decode_profile", "encode_profile", "show_details"]

# --- steps -----------------------------------------------------------------------------------------


def start(ctx: Context, msg: Incoming) -> Outcome:
    """Read what the opening message says; explain one item, pick a child, or ask what is missing."""
    text = clean_text(msg.text)
    if text.startswith("/"):
        text = text.split(maxsplit=1)[1] if " " in text else ""
    ctx.data = {"pack": region_pack(ctx), "p": {}, "asked": []}
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
        return Outcome([*notes_reply(notes), child_question(children)], "child")
    return ask_next(ctx, notes)


def pick_child(ctx: Context, msg: Incoming, choice: AidChild) -> Outcome:
    """Use the chosen child's record (re-checked: only a guardian or staff in scope may)."""
    stated = parse(ctx.data.pop("text", ""))
    if choice.student_id == 0:
        return ask_next(ctx, _apply(ctx, stated))
    if not can(ctx.session, ctx.person, Act.VIEW_STUDENT, Target.student(choice.student_id)):
        return Outcome([Reply(_("Sorry, you do not have permission to do that."))], END)
    student = ctx.session.get(Student, choice.student_id)
    assert student is not None
    note = _use_child(ctx, student)
    return ask_next(ctx, [note, *_apply(ctx, stated)])


def tap_a_child(ctx: Context, msg: Incoming, pressed: Payload | None = None) -> Outcome:
    """Typed text or another question's button while the child question is open: ask for a tap."""
    return Outcome([Reply(_("Please tap one of the buttons."))], "child")


def pick_stage(ctx: Context, msg: Incoming, chosen: AidStage) -> Outcome:
    """Record the stage button, then ask the next question."""
    store_profile(ctx, profile_of(ctx).with_fact(Fact.STAGE, chosen.stage))
    return ask_next(ctx, [])


def answer_fact(ctx: Context, msg: Incoming, answer: AidFact) -> Outcome:
    """Record a yes/no answer; 'not sure' is not asked again."""
    if answer.fact not in YES_NO_FACTS:
        raise BadPayload(msg.payload or "")
    if answer.value.known is None:
        ctx.data.setdefault("asked", []).append(answer.fact.value)
    store_profile(ctx, profile_of(ctx).with_fact(answer.fact, answer.value.known))
    return ask_next(ctx, [])


def household_choice(ctx: Context, msg: Incoming, pressed: AidHousehold) -> Outcome:
    """Toggle a household status in place; 'none of these', 'not sure' or 'done' moves on.

    'None of these' or 'not sure' with flags ticked would drop them, so it asks first (clear_ticks)."""
    choice = pressed.choice
    selected: list[str] = list(ctx.data.get("hh") or [])
    if (flag := choice.value) in HOUSEHOLD_FLAGS:
        selected = [f for f in selected if f != flag] if flag in selected else [*selected, flag]
        ctx.data["hh"] = selected
        return Outcome([household_question(selected, edit=True)], "household")
    if selected and choice in CLEARING_ENDINGS:
        return Outcome([clear_ticks_question(selected, choice)], "clear_ticks")
    return _end_household(ctx, choice, selected, [])


def clear_ticks(ctx: Context, msg: Incoming, pressed: AidClearTicks) -> Outcome:
    """Clear the ticks and go on with the ending pressed, or go back to the question as it was."""
    selected: list[str] = list(ctx.data.get("hh") or [])
    if not pressed.clear:
        return Outcome([household_question(selected, edit=True)], "household")
    note = _("Cleared: {flags}.").format(
        flags=_(", ").join(flag_label(f) for f in HOUSEHOLD_FLAGS if f in selected)
    )
    return _end_household(ctx, pressed.ending, [], [note] if selected else [])


def _end_household(ctx: Context, choice: HouseholdChoice, selected: list[str], notes: list[str]) -> Outcome:
    """Record how the household question ended ('done' takes the ticks) and ask the next question."""
    ctx.data.pop("hh", None)
    profile = profile_of(ctx)
    if choice is HouseholdChoice.NONE:
        store_profile(ctx, profile.with_fact(Fact.HOUSEHOLD, frozenset()))
    elif choice is HouseholdChoice.DONE:
        store_profile(ctx, profile.with_fact(Fact.HOUSEHOLD, frozenset(selected)))
    else:
        ctx.data.setdefault("asked", []).append(Fact.HOUSEHOLD.value)
    return ask_next(ctx, notes)


def typed_facts(ctx: Context, msg: Incoming) -> Outcome:
    """Facts typed instead of tapped; anything else asks the question again.

    Flags ticked and not yet confirmed are kept: a typed flag is added to them, and a typed
    "none of these" asks before clearing them, as the button does."""
    parsed = parse(msg.text)
    ticked: list[str] = list(ctx.data.get("hh") or [])
    if ticked and not (parsed.household and parsed.household_none):
        if parsed.household_none:
            notes = _apply(ctx, replace(parsed, household_none=False))
            asked = clear_ticks_question(ticked, HouseholdChoice.NONE, edit=False)
            return Outcome([*notes_reply(notes), asked], "clear_ticks")
        if parsed.household:
            ctx.data.pop("hh")
            parsed = replace(parsed, household=parsed.household | set(ticked))
    if parsed.has_facts:
        return ask_next(ctx, _apply(ctx, parsed))
    return ask_next(ctx, [_("Sorry, I did not understand. Please tap one of the buttons.")])


def ask_next(ctx: Context, notes: list[str]) -> Outcome:
    """Ask the first unknown fact that can change the answer, or answer when none is left."""
    profile = profile_of(ctx)
    pack = pack_of(ctx)
    on = school_day(ctx)
    if profile.stage is not None:
        notes = notes + _drop_irrelevant(ctx, profile, pack, on)
        profile = profile_of(ctx)
    asked = set(ctx.data.get("asked") or [])
    missing = [f for f in open_questions(profile, pack, on) if f.value not in asked]
    if not missing:
        return _answer(ctx, profile, pack, on, notes)
    if missing[0] == Fact.HOUSEHOLD:
        # Flags ticked before another answer moved the dialog on are still ticked when it comes back.
        ticked: list[str] = ctx.data.setdefault("hh", [])
        return Outcome([*notes_reply(notes), household_question(ticked)], "household")
    question = stage_question() if missing[0] == Fact.STAGE else yes_no_question(missing[0])
    return Outcome([*notes_reply(notes), question], "ask")


# --- helpers ---------------------------------------------------------------------------------------


def _use_child(ctx: Context, student: Student) -> str:
    """Stage and boarding from the record; household only if the school recorded one. Says what it used."""
    school = student.school_class.school
    ctx.data["student"] = student.id
    ctx.data["pack"] = school.region.aid_pack
    household = [f for f in (student.household or []) if f in HOUSEHOLD_FLAGS]
    store_profile(
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
    profile = profile_of(ctx)
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
    store_profile(ctx, profile)
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
    store_profile(ctx, profile)
    return notes


def _answer(ctx: Context, profile: Profile, pack: Pack, on: date, notes: list[str]) -> Outcome:
    """The short answer, after a note when the region's own list is not in force."""
    own = ctx.data.get("pack")
    if own and own != pack.id and own in pack_ids():
        regional = load_pack(own)
        notes = [
            *notes,
            _(
                "Your region's list ({pack}) is not in force on {date}; this answer uses the national rules."
            ).format(pack=regional.name.get(ctx.locale), date=long_date(on)),
        ]
    results = evaluate(profile, pack, on)
    return Outcome([*notes_reply(notes), answer_reply(results, profile, pack, on)], END)


def _find_item(ctx: Context, item_id: str) -> PackItem | None:
    entry = pack_of(ctx).item(item_id)
    return entry or load_pack(FALLBACK_PACK).item(item_id)


def _explain(ctx: Context, item_ids: list[str]) -> Outcome:
    """'What is …' / 'how do I apply for …': the item itself, without asking anything."""
    entries = [e for e in (_find_item(ctx, i) for i in item_ids[:2]) if e is not None]
    if not entries:
        return Outcome(
            [Reply(_("That aid is not in the list for your region. Ask the school's aid office."))]
        )
    return Outcome(explained(entries), END)


def show_details(ctx: Context, msg: Incoming) -> list[Reply]:
    """Stateless details button: one item for the profile in the payload, evaluated today."""
    pressed = AidDetail.unpack(msg.payload)
    if pressed.pack_id not in pack_ids():
        raise BadPayload(msg.payload or "")
    profile = decode_profile(pressed.profile)
    entry = load_pack(pressed.pack_id).item(pressed.item)
    if entry is None:
        return [Reply(_("That button is not valid any more. Send /help to start again."))]
    return [details_reply(details(evaluate_item(profile, entry, school_day(ctx))))]


def _trigger(ctx: Context, text: str) -> bool:
    return looks_like_aid_question(text)


# Asking a fact and asking the household answer the same inputs: the household question's own
# buttons toggle it in place, any other answer moves on.
ANSWERING = State(
    buttons=[On(AidStage, pick_stage), On(AidFact, answer_fact), On(AidHousehold, household_choice)],
    text=typed_facts,
    goes_to=("ask", "household", "clear_ticks", END),
)

FLOW = Flow.create(
    FLOW_NAME,
    Entry(start, goes_to=("child", "ask", "household", END)),
    {
        "child": State(
            buttons=[
                On(AidChild, pick_child),
                On(AidStage, tap_a_child),
                On(AidFact, tap_a_child),
                On(AidHousehold, tap_a_child),
            ],
            text=tap_a_child,
            goes_to=("child", "ask", "household", END),
        ),
        "ask": ANSWERING,
        "household": ANSWERING,
        # 'None of these' / 'not sure' pressed with flags ticked: clear them or keep them? The household
        # question's own buttons still work (a late "Done" keeps the ticks).
        "clear_ticks": State(
            buttons=[On(AidClearTicks, clear_ticks), On(AidHousehold, household_choice)],
            goes_to=("household", "clear_ticks", "ask", END),
        ),
    },
    commands=("aid", "zizhu"),
    trigger=_trigger,
    trigger_priority=60,
    help=N_("student aid: what can my child get?"),
    help_order=20,
)
