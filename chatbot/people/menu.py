"""/help (what this person may do, with one-tap buttons) and /whoami (who this chat is linked to) (menu.mmd)."""

from __future__ import annotations

from chatbot.core.context import Context
from chatbot.core.flow import END, Entry, Flow, Outcome, say
from chatbot.core.messages import Button, Incoming, Reply
from chatbot.core.router import start_button
from chatbot.i18n import LOCALE_NAMES, N_, _
from chatbot.people.auth import children_of
from db.models import Region, Role, School, SchoolClass

ROLE_LABELS = {
    Role.CLASS_TEACHER: N_("class teacher"),
    Role.TEACHER: N_("teacher"),
    Role.PRINCIPAL: N_("principal"),
    Role.COUNTY_ADMIN: N_("county administrator"),
}
MAX_MENU_BUTTONS = 6


def help_replies(ctx: Context) -> list[Reply]:
    """What this person may do, as text plus one-tap buttons."""
    from chatbot.core.domains import default_registry

    # Linking is only news to someone unlinked, and "who am I" only means something once linked.
    hidden = {"start"} if ctx.person is not None else {"whoami"}
    flows = sorted(
        (
            f
            for f in default_registry().flows.values()
            if f.help and f.commands and f.name not in hidden and f.allowed(ctx)
        ),
        key=lambda f: f.help_order,
    )
    lines = [_("What I can do for you:")]
    buttons: list[list[Button]] = []
    for flow in flows:
        assert flow.help is not None
        lines.append(f"/{flow.commands[0]} — {_(flow.help)}")
        if flow.name != "help" and len(buttons) < MAX_MENU_BUTTONS:
            buttons.append([start_button(_(flow.help), flow.name)])
    if ctx.person is None:
        lines.append(_("You are not linked yet: send /start and your invite code."))
    return [Reply("\n".join(lines), buttons)]


def show_help(ctx: Context, msg: Incoming) -> Outcome:
    """List the commands this person's role may use."""
    return Outcome(help_replies(ctx), END)


def whoami(ctx: Context, msg: Incoming) -> Outcome:
    """Say who this chat account is linked to, and in which roles."""
    person = ctx.person
    if person is None:
        return say(_("This chat is not linked to anyone yet. Send /start and your invite code."))
    lines = [_("You are linked as {name}.").format(name=person.name)]
    for membership in person.memberships:
        scope = _scope_name(ctx, membership.scope_type.value, membership.scope_id)
        lines.append("• " + _("{role}: {scope}").format(role=_(ROLE_LABELS[membership.role]), scope=scope))
    for child in children_of(ctx.session, person):
        lines.append(
            "• "
            + _("guardian of {child} ({school} {klass})").format(
                child=child.name,
                school=child.school_class.school.name,
                klass=class_label(child.school_class),
            )
        )
    lines.append(_("Language: {language}").format(language=LOCALE_NAMES[ctx.locale]))
    return say("\n".join(lines))


def class_label(klass: SchoolClass) -> str:
    return _("Grade {grade} {name}").format(grade=klass.grade, name=klass.name)


def _scope_name(ctx: Context, scope_type: str, scope_id: int) -> str:
    if scope_type == "class":
        klass = ctx.session.get(SchoolClass, scope_id)
        return f"{klass.school.name} {class_label(klass)}" if klass else "?"
    if scope_type == "school":
        school = ctx.session.get(School, scope_id)
        return school.name if school else "?"
    region = ctx.session.get(Region, scope_id)
    return region.name if region else "?"


HELP_FLOW = Flow.create(
    "help",
    Entry(show_help, goes_to=(END,)),
    {},
    commands=("help", "menu"),
    help=N_("show this list"),
    help_order=99,
)
WHOAMI_FLOW = Flow.create(
    "whoami",
    Entry(whoami, goes_to=(END,)),
    {},
    commands=("whoami",),
    help=N_("who am I linked as"),
    help_order=91,
)
