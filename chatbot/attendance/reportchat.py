"""/report for principals and admins: scope → period → summary, chart and workbook (diagram: reportchat.mmd)."""

from __future__ import annotations

from datetime import timedelta

from chatbot.attendance.payloads import ReportPeriod, ReportScope
from chatbot.attendance.report import Scope, build_report, chart_png, scope_title, summary_text, write_xlsx
from chatbot.clock import local_today
from chatbot.core.context import Context
from chatbot.core.flow import END, Entry, Flow, On, Outcome, State, say
from chatbot.core.messages import Attachment, Button, Incoming, Reply
from chatbot.core.router import deny_reply
from chatbot.i18n import N_, _
from chatbot.people.auth import Act, Target, can, has_role, scopes_with
from db.models import Role, ScopeType

REPORT_ROLES = (Role.PRINCIPAL, Role.COUNTY_ADMIN)
PERIODS = (7, 20, 30)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def may_report(ctx: Context) -> bool:
    return has_role(ctx.person, *REPORT_ROLES)


def _target(scope: Scope) -> Target:
    return Target.school(scope.id) if scope.kind == "school" else Target.region(scope.id)


def start(ctx: Context, msg: Incoming) -> Outcome:
    """Ask which school or region, if the person has several."""
    scopes = [
        Scope("school" if kind == ScopeType.SCHOOL else "region", ident)
        for kind, ident in scopes_with(ctx.person, *REPORT_ROLES)
        if kind in (ScopeType.SCHOOL, ScopeType.REGION)
    ]
    if not scopes:
        return Outcome([deny_reply(ctx)])
    if len(scopes) == 1:
        return ask_period(ctx, scopes[0])
    rows = [
        [Button(scope_title(ctx.session, s) or "?", ReportScope(s.kind, s.id).pack())] for s in scopes[:20]
    ]
    return say(_("Report for which school or region?"), *rows, then="scope")


def scope(ctx: Context, msg: Incoming, pressed: ReportScope) -> Outcome:
    """Take the chosen scope (re-authorized)."""
    if pressed.kind not in {"school", "region"}:
        return Outcome([deny_reply(ctx)])
    return ask_period(ctx, Scope(pressed.kind, pressed.scope_id))


def ask_period(ctx: Context, chosen: Scope) -> Outcome:
    """Offer the last 7, 20 or 30 days."""
    if not can(ctx.session, ctx.person, Act.REPORT, _target(chosen)):
        return Outcome([deny_reply(ctx)])
    ctx.data = {"kind": chosen.kind, "id": chosen.id}
    rows = [[Button(_("Last {days} days").format(days=days), ReportPeriod(days).pack()) for days in PERIODS]]
    return say(_("Which period?"), *rows, then="period")


def period(ctx: Context, msg: Incoming, pressed: ReportPeriod) -> Outcome:
    """Build the report; send the summary, the chart and the workbook; audit the export."""
    days = pressed.days
    chosen = Scope(str(ctx.data.get("kind")), int(ctx.data.get("id", 0)))
    if days not in PERIODS or not can(ctx.session, ctx.person, Act.REPORT, _target(chosen)):
        return Outcome([deny_reply(ctx)])
    last = local_today(ctx.now, ctx.settings.timezone)
    first = last - timedelta(days=days - 1)
    report = build_report(ctx.session, chosen, first, last)
    ctx.audit(
        "attendance.report.export",
        f"{chosen.kind}:{chosen.id}",
        first=first.isoformat(),
        last=last.isoformat(),
        channel=ctx.identity.channel,
    )
    stem = f"attendance-{chosen.kind}{chosen.id}-{first.isoformat()}-{last.isoformat()}"
    return Outcome(
        [
            Reply(summary_text(report), attachment=Attachment(f"{stem}.png", chart_png(report), "image/png")),
            Reply(
                _("The full workbook (classes, schools, classes without a roll-call, absences, cases):"),
                attachment=Attachment(f"{stem}.xlsx", write_xlsx(report), XLSX),
            ),
        ],
        END,
    )


FLOW = Flow.create(
    "report",
    Entry(start, goes_to=("scope", "period", END)),
    {
        "scope": State(buttons=[On(ReportScope, scope)], goes_to=("period", END)),
        "period": State(buttons=[On(ReportPeriod, period)], goes_to=(END,)),
    },
    commands=("report",),
    allowed=may_report,
    help=N_("attendance report with chart"),
    help_order=40,
)
