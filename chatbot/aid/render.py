"""Turning engine results into words and JSON, in the active locale (shared by the CLI and the dialog)."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

from babel.dates import format_date

from chatbot.aid.engine import Check, Fact, Outcome, Result, Status
from chatbot.aid.pack import Kind, Pack, PackItem, Period
from chatbot.i18n import N_, _, babel_locale, format_yuan, get_locale
from db.models import HOUSEHOLD_FLAGS, Stage

STAGE_LABELS = {
    Stage.PRESCHOOL: N_("kindergarten"),
    Stage.PRIMARY: N_("primary school"),
    Stage.JUNIOR: N_("junior secondary school"),
    Stage.SENIOR: N_("senior high school"),
    Stage.SECONDARY_VOCATIONAL: N_("secondary vocational school"),
    Stage.HIGHER_VOCATIONAL: N_("higher vocational college"),
    Stage.UNDERGRADUATE: N_("university (undergraduate)"),
    Stage.POSTGRADUATE: N_("postgraduate study"),
}
FLAG_LABELS = {
    "registered_poor": N_("registered poor household (建档立卡)"),
    "dibao": N_("minimum living allowance (低保)"),
    "tekun": N_("extreme-poverty support (特困)"),
    "orphan": N_("orphan"),
    "disabled": N_("disability"),
}
KIND_LABELS = {
    Kind.GRANT: N_("grant"),
    Kind.WAIVER: N_("fee waiver"),
    Kind.SUBSIDY: N_("subsidy"),
    Kind.LOAN: N_("loan"),
    Kind.SCHOLARSHIP: N_("scholarship"),
    Kind.IN_KIND: N_("in kind"),
}
STATUS_LABELS = {
    Status.ELIGIBLE: N_("eligible"),
    Status.POSSIBLE: N_("possible"),
    Status.NOT_ELIGIBLE: N_("not eligible"),
}
PER_PERIOD = {
    Period.YEAR: N_("{amount} a year"),
    Period.TERM: N_("{amount} a term"),
    Period.DAY: N_("{amount} a school day"),
    Period.ONCE: N_("{amount} once"),
}


def long_date(value: date) -> str:
    """A policy date with its year, as the reader writes it: '2024年3月1日' or 'March 1, 2024'."""
    return format_date(value, "long", locale=babel_locale())


def stage_label(stage: Stage | str) -> str:
    return _(STAGE_LABELS[Stage(stage)])


def flag_label(flag: str) -> str:
    return _(FLAG_LABELS[flag])


def flags_text(flags: tuple[str, ...] | list[str]) -> str:
    return _(", ").join(flag_label(f) for f in flags)


def item_name(entry: PackItem) -> str:
    return entry.item.name.get(get_locale())


def _yuan(value: Any) -> str:
    return format_yuan(value)


def amount_text(result: Result) -> str:
    """'1,250元 a year', 'full fee waived', 'up to ¥20,000 a year', 'average … (up to …)'."""
    item = result.entry.item
    if result.full_waiver:
        return _("fee waived in full")
    period = result.period
    if item.kind == Kind.LOAN:
        if result.max_amount is None:
            return _("amount set by the lender")
        ceiling = _("up to {amount}").format(amount=_yuan(result.max_amount))
        return _(PER_PERIOD[period]).format(amount=ceiling) if period else ceiling
    if result.amount is None:
        if item.kind == Kind.IN_KIND:
            return _("help in kind, not money")
        return _("amount to be confirmed")
    text = _(PER_PERIOD[period]).format(amount=_yuan(result.amount)) if period else _yuan(result.amount)
    if item.kind == Kind.IN_KIND:
        text = _("{amount}, given as food or services").format(amount=text)
    if result.max_amount is not None and result.max_amount != result.amount:
        text = _("{amount} on average (up to {max})").format(amount=text, max=_yuan(result.max_amount))
    return text


def check_met_text(check: Check) -> str:
    """A matched condition, for 'why'."""
    if check.fact == Fact.STAGE:
        return _("stage: {stages}").format(stages=_(", ").join(stage_label(s) for s in check.wanted))
    if check.fact == Fact.HOUSEHOLD:
        return _("household: {flags}").format(flags=flags_text(check.wanted))
    if check.fact == Fact.BOARDING:
        return _("boards at school") if check.wanted == ("True",) else _("does not board")
    if check.fact == Fact.IN_PROVINCE:
        return (
            _("studies in the home province")
            if check.wanted == ("True",)
            else _("studies in another province")
        )
    if check.fact == Fact.PRESCHOOL_FINAL_YEAR:
        return _("final year of kindergarten")
    return check.text.get(get_locale()) if check.text else ""


def confirm_text(check: Check) -> str:
    """What to confirm with the school for an unknown or uncheckable condition."""
    if check.text is not None:
        return check.text.get(get_locale())
    if check.fact == Fact.HOUSEHOLD:
        return _("whether the family is recognised as: {flags}").format(flags=flags_text(check.wanted))
    if check.fact == Fact.BOARDING:
        return (
            _("whether the child boards at school")
            if check.wanted == ("True",)
            else _("whether the child lives at home (does not board)")
        )
    if check.fact == Fact.IN_PROVINCE:
        return _("whether the school is in the home province")
    if check.fact == Fact.PRESCHOOL_FINAL_YEAR:
        return _("whether this is the final year of kindergarten")
    if check.fact == Fact.STAGE:
        return _("which stage the child is at: {stages}").format(
            stages=_(", ").join(stage_label(s) for s in check.wanted)
        )
    return ""


def reason_text(result: Result) -> str:
    """Why an item does not apply, in one line."""
    if result.not_in_force is not None:
        why, when = result.not_in_force
        when_text = long_date(when) if isinstance(when, date) else "?"
        if why == "not_yet":
            return _("not in force yet on that date (starts {date})").format(date=when_text)
        return _("no longer in force on that date (ended {date})").format(date=when_text)
    check = result.reason
    if check is None:
        return ""
    if check.fact == Fact.STAGE:
        return _("only for: {stages}").format(stages=_(", ").join(stage_label(s) for s in check.wanted))
    if check.fact == Fact.HOUSEHOLD:
        return _("only for families recognised as: {flags}").format(flags=flags_text(check.wanted))
    if check.fact == Fact.BOARDING:
        return (
            _("only for pupils who board at school")
            if check.wanted == ("True",)
            else _("only for pupils who do not board")
        )
    if check.fact == Fact.IN_PROVINCE:
        return _("only for students at a school in the home province")
    if check.fact == Fact.PRESCHOOL_FINAL_YEAR:
        return _("only for the final year of kindergarten")
    return ""


def why_lines(result: Result) -> list[str]:
    if result.status == Status.NOT_ELIGIBLE:
        return [reason_text(result)]
    lines = [check_met_text(c) for c in result.met]
    lines += [_("to confirm: {what}").format(what=confirm_text(c)) for c in result.to_confirm]
    return [line for line in lines if line]


def how_to_apply(entry: PackItem) -> dict[str, Any]:
    text = entry.how_to_apply.get(get_locale()) or entry.how_to_apply["zh_Hans"]
    return {
        "steps": list(text.steps),
        "documents": list(text.documents),
        "where": text.where,
        "when": text.when,
    }


def source_json(entry: PackItem) -> dict[str, Any]:
    src = entry.item.source
    data: dict[str, Any] = {"document": src.document, "section": src.section, "date": src.date}
    if src.url:
        data["url"] = src.url
    if src.note:
        data["note"] = src.note
    return data


def result_json(result: Result) -> dict[str, Any]:
    """One item in the CLI's JSON shape."""
    return {
        "id": result.item_id,
        "source_pack": result.entry.source_pack,
        "name": item_name(result.entry),
        "kind": result.entry.item.kind.value,
        "status": result.status.value,
        "amount_yuan": _number(result.amount),
        "max_amount_yuan": _number(result.max_amount),
        "period": result.period.value if result.period else None,
        "why": why_lines(result),
        "how_to_apply": how_to_apply(result.entry),
        "source": source_json(result.entry),
    }


def _number(value: Any) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == int(value) else float(value)


def source_line(entry: PackItem) -> str:
    src = entry.item.source
    return _("Source: {document}, {section} ({date})").format(
        document=src.document, section=src.section, date=src.date
    )


def summary_header(pack: Pack, on: date) -> str:
    return _("Student aid ({pack}, on {date}):").format(pack=pack.name.get(get_locale()), date=long_date(on))


def summary(results: list[Result], pack: Pack, on: date) -> str:
    """The short answer: what the child can get, then what may apply and what to check."""
    eligible = [r for r in results if r.status == Status.ELIGIBLE]
    possible = [r for r in results if r.status == Status.POSSIBLE]
    lines = [summary_header(pack, on)]
    if eligible:
        lines.append(_("Can get:"))
        lines += [
            "• " + _("{name}: {amount}").format(name=item_name(r.entry), amount=amount_text(r))
            for r in eligible
        ]
    if possible:
        lines.append(_("May get (check with the school):"))
        # Unknown household status, when every possible item hinges on it, is asked once for all.
        household_unknown = [
            next((c for c in r.to_confirm if c.fact == Fact.HOUSEHOLD and c.outcome == Outcome.UNKNOWN), None)
            for r in possible
        ]
        shared = len(possible) > 1 and all(household_unknown)
        for r in possible:
            lines.append("• " + _("{name}: {amount}").format(name=item_name(r.entry), amount=amount_text(r)))
            own = [
                confirm_text(c)
                for c in r.to_confirm
                if not (shared and c.fact == Fact.HOUSEHOLD and c.outcome == Outcome.UNKNOWN)
            ]
            if own:
                lines.append("  " + _("check: {what}").format(what=_("; ").join(own)))
        if shared:
            wanted = {flag for check in household_unknown if check for flag in check.wanted}
            flags = tuple(f for f in HOUSEHOLD_FLAGS if f in wanted)
            lines.append(
                _("For all of these, check: {what}").format(
                    what=_("whether the family is recognised as: {flags}").format(flags=flags_text(flags))
                )
            )
    if not eligible and not possible:
        lines.append(_("Nothing in this list matches. The school's aid office can check other help."))
    return "\n".join(lines)


def details(result: Result) -> str:
    """One item in full: what it is, the amount, the conditions, how to apply, the source."""
    entry = result.entry
    item = entry.item
    apply = how_to_apply(entry)
    lines = [f"【{item_name(entry)}】", item.description.get(get_locale())]
    lines.append(_("Type: {kind}").format(kind=_(KIND_LABELS[item.kind])))
    if result.status != Status.NOT_ELIGIBLE:
        lines.append(_("Amount: {amount}").format(amount=amount_text(result)))
        if item.amount.note:
            lines.append("  " + item.amount.note.get(get_locale()))
    lines.append(_("Your answer: {status}").format(status=_(STATUS_LABELS[result.status])))
    lines += [f"  · {line}" for line in why_lines(result)]
    lines.append(_("How to apply:"))
    lines += [f"  {n}. {step}" for n, step in enumerate(apply["steps"], start=1)]
    if apply["documents"]:
        lines.append(_("Documents: {documents}").format(documents=_(", ").join(apply["documents"])))
    lines.append(_("Where: {where}").format(where=apply["where"]))
    lines.append(_("When: {when}").format(when=apply["when"]))
    lines.append(source_line(entry))
    return "\n".join(lines)


def explain_item(entry: PackItem) -> str:
    """An item without a profile: what it is, who gets it, how to apply (for 'what is …' questions)."""
    item = entry.item
    apply = how_to_apply(entry)
    lines = [f"【{item_name(entry)}】", item.description.get(get_locale())]
    lines.append(_("For: {stages}").format(stages=_(", ").join(stage_label(s) for s in item.stages)))
    lines.append(_("How to apply:"))
    lines += [f"  {n}. {step}" for n, step in enumerate(apply["steps"], start=1)]
    if apply["documents"]:
        lines.append(_("Documents: {documents}").format(documents=_(", ").join(apply["documents"])))
    lines.append(_("Where: {where}").format(where=apply["where"]))
    lines.append(_("When: {when}").format(when=apply["when"]))
    lines.append(source_line(entry))
    return "\n".join(lines)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in {"W", "F"} else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def table(results: list[Result]) -> str:
    """A plain-text table for the terminal, padded for wide (Chinese) characters."""
    header = [_("Eligibility"), _("Item"), _("Amount"), _("Source pack")]
    rows = [
        [
            _(STATUS_LABELS[r.status]),
            item_name(r.entry),
            amount_text(r) if r.status != Status.NOT_ELIGIBLE else reason_text(r),
            r.entry.source_pack,
        ]
        for r in results
    ]
    widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(_pad(cell, w) for cell, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    for r in results:
        if r.status == Status.POSSIBLE:
            lines.append(
                "* "
                + _("{item}: check {what}").format(
                    item=item_name(r.entry), what=_("; ").join(confirm_text(c) for c in r.to_confirm)
                )
            )
    return "\n".join(lines)
