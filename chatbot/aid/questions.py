"""What the /aid dialog shows: its questions with their buttons, and the answer with its detail buttons."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from chatbot.aid.engine import Fact, Profile, Result, Status
from chatbot.aid.pack import Pack, PackItem
from chatbot.aid.payloads import (
    AidChild,
    AidClearTicks,
    AidDetail,
    AidFact,
    AidHousehold,
    AidStage,
    Answer,
    HouseholdChoice,
    encode_profile,
)
from chatbot.aid.render import explain_item, flag_label, item_name, stage_label, summary
from chatbot.core.messages import Button, Reply
from chatbot.core.router import start_button
from chatbot.i18n import N_, _
from db.models import HOUSEHOLD_FLAGS, Stage, Student

FLOW_NAME = "aid"
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


def notes_reply(notes: list[str]) -> list[Reply]:
    """The notes as one message before the question, or nothing."""
    return [Reply("\n".join(notes))] if notes else []


def child_question(children: Sequence[Student]) -> Reply:
    """Which child: one button each, and 'someone else'."""
    rows = [[Button(child.name, AidChild(child.id).pack())] for child in children]
    rows.append([Button(_("Someone else"), AidChild(0).pack())])
    return Reply(_("Which child is it about?"), rows)


def stage_question() -> Reply:
    rows = [[Button(stage_label(s), AidStage(s).pack())] for s in Stage]
    return Reply(_("Which stage is the child at?"), rows)


def yes_no_question(fact: Fact) -> Reply:
    """A yes/no question whose answers repeat the fact, with 'not sure'."""
    question, yes, no = YES_NO_QUESTIONS[fact]
    rows = [
        [Button(_(yes), AidFact(fact, Answer.YES).pack())],
        [Button(_(no), AidFact(fact, Answer.NO).pack())],
        [Button(_("Not sure"), AidFact(fact, Answer.UNSURE).pack())],
    ]
    return Reply(_(question), rows)


def household_question(selected: list[str], edit: bool = False) -> Reply:
    """The household flags (ticked when selected), 'none of these', 'not sure' and 'done'."""
    rows = [
        [
            Button(
                ("✓ " if flag in selected else "") + flag_label(flag),
                AidHousehold(HouseholdChoice(flag)).pack(),
            )
        ]
        for flag in HOUSEHOLD_FLAGS
    ]
    rows.append([Button(_("None of these"), AidHousehold(HouseholdChoice.NONE).pack())])
    rows.append(
        [
            Button(_("Not sure"), AidHousehold(HouseholdChoice.UNSURE).pack()),
            Button(_("Done"), AidHousehold(HouseholdChoice.DONE).pack()),
        ]
    )
    return Reply(_("Is your family any of these? Tap all that apply, then Done."), rows, edit=edit)


def clear_ticks_question(selected: list[str], ending: HouseholdChoice, edit: bool = True) -> Reply:
    """'None of these' or 'not sure' pressed with flags ticked: clear them, or keep them and go back.

    Pressed, it replaces the household question (edit); typed, it is a new message."""
    ticked = _(", ").join(flag_label(f) for f in HOUSEHOLD_FLAGS if f in selected)
    if ending is HouseholdChoice.NONE:
        question = _("You ticked: {flags}. Clear it and continue with “None of these”?")
        clear = _("Clear it: none of these")
    else:
        question = _("You ticked: {flags}. Clear it and continue with “Not sure”?")
        clear = _("Clear it: not sure")
    rows = [
        [Button(clear, AidClearTicks(ending, clear=True).pack())],
        [Button(_("No, keep what I ticked"), AidClearTicks(ending, clear=False).pack())],
    ]
    return Reply(question.format(flags=ticked), rows, edit=edit)


def facts_used(profile: Profile) -> str:
    """The facts the answer was worked out from, so a parent can see nothing they said was lost."""
    facts = [stage_label(profile.stage)] if profile.stage else []
    if profile.preschool_final_year is not None:
        facts.append(
            _("final year of kindergarten")
            if profile.preschool_final_year
            else _("not the final year of kindergarten")
        )
    if profile.boarding is not None:
        facts.append(_("boards at school") if profile.boarding else _("does not board"))
    if profile.in_province is not None:
        facts.append(
            _("studies in the home province") if profile.in_province else _("studies in another province")
        )
    if profile.household is None:
        facts.append(_("family situation not known"))
    elif not profile.household:
        facts.append(_("none of the listed family situations"))
    else:
        facts += [flag_label(f) for f in HOUSEHOLD_FLAGS if f in profile.household]
    return _("This answer is for: {facts}.").format(facts=_(", ").join(facts))


def answer_reply(results: list[Result], profile: Profile, pack: Pack, on: date) -> Reply:
    """The short answer with a details button per item that may apply, and 'start over'."""
    shown = [r for r in results if r.status != Status.NOT_ELIGIBLE]
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
    rows.append([start_button(_("Start over"), FLOW_NAME)])
    return Reply(summary(results, pack, on) + "\n" + facts_used(profile), rows)


def explained(entries: list[PackItem]) -> list[Reply]:
    """Each item explained; the last message offers to start the dialog."""
    replies = [Reply(explain_item(entry)) for entry in entries]
    replies[-1].buttons = [[start_button(_("What can my child get?"), FLOW_NAME)]]
    return replies


def details_reply(text: str) -> Reply:
    """One item's details, with 'start over'."""
    return Reply(text, [[start_button(_("Start over"), FLOW_NAME)]])
