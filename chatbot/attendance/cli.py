"""Operator commands: close-day, escalate-cases, and `report attendance` (xlsx export)."""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path
from typing import Any

from chatbot.app import App
from chatbot.attendance.cases import escalate_cases
from chatbot.attendance.close import close_day
from chatbot.attendance.report import Scope, build_report, write_xlsx
from chatbot.clock import local_today
from chatbot.commands import add_command, fail
from chatbot.i18n import _
from db.models import AuditLog
from db.session import transaction


def register(sub: Any) -> None:
    close = add_command(
        sub, "close-day", cmd_close_day, _("Close a school day: absence alerts and dropout-risk cases.")
    )
    close.add_argument("--date", help=_("the local day to close, YYYY-MM-DD (default: today)"))
    close.add_argument("--school", type=int, action="append", help=_("only this school id (repeatable)"))
    escalate = add_command(
        sub, "escalate-cases", cmd_escalate, _("Escalate dropout-risk cases with no action.")
    )
    escalate.add_argument("--date", help=_("the local day, YYYY-MM-DD (default: today)"))
    report = add_command(sub, "report", cmd_report, _("Export a report as an Excel workbook."))
    report.add_argument("kind", choices=("attendance",))
    report.add_argument("--scope", required=True, help=_("class:ID, school:ID or region:ID"))
    report.add_argument("--from", dest="first", required=True, help=_("first day, YYYY-MM-DD"))
    report.add_argument("--to", dest="last", required=True, help=_("last day, YYYY-MM-DD"))
    report.add_argument("--out", required=True, help=_("the .xlsx file to write"))


def _day(text: str | None, app: App) -> date:
    if text is None:
        return local_today(app.clock(), app.settings.timezone)
    return date.fromisoformat(text)


def cmd_close_day(args: argparse.Namespace, app: App) -> int:
    try:
        day = _day(args.date, app)
    except ValueError:
        return fail(_("Not a date: {value}. Use YYYY-MM-DD.").format(value=args.date))
    started = time.perf_counter()
    with transaction(app.session_factory) as session:
        summary = close_day(session, day, app.clock(), args.school)
    print(
        _(
            "Closed {day}: {schools} schools ({skipped} skipped), {missing} classes without roll-call, "
            "{absences} absences alerted, {cases} cases opened, {queued} messages queued."
        ).format(
            day=day.isoformat(),
            schools=summary.schools_closed,
            skipped=summary.schools_skipped,
            missing=summary.classes_missing,
            absences=summary.absences_alerted,
            cases=summary.cases_opened,
            queued=summary.messages_queued,
        )
    )
    print(_("Done in {seconds} s.").format(seconds=f"{time.perf_counter() - started:.1f}"))
    return 0


def cmd_escalate(args: argparse.Namespace, app: App) -> int:
    try:
        day = _day(args.date, app)
    except ValueError:
        return fail(_("Not a date: {value}. Use YYYY-MM-DD.").format(value=args.date))
    with transaction(app.session_factory) as session:
        moved = escalate_cases(session, day, app.clock())
    print(_("{count} cases escalated.").format(count=moved))
    return 0


def cmd_report(args: argparse.Namespace, app: App) -> int:
    try:
        scope = Scope.parse(args.scope)
    except ValueError:
        return fail(_("Bad scope: {value}. Use class:ID, school:ID or region:ID.").format(value=args.scope))
    try:
        first, last = date.fromisoformat(args.first), date.fromisoformat(args.last)
    except ValueError:
        return fail(_("Dates must look like YYYY-MM-DD."))
    if last < first:
        return fail(_("--to is before --from."))
    out = Path(args.out)
    if out.suffix.lower() != ".xlsx":
        return fail(_("The output file must end in .xlsx."))
    with transaction(app.session_factory) as session:
        try:
            report = build_report(session, scope, first, last)
        except LookupError:
            return fail(_("No such {kind}: {id}.").format(kind=scope.kind, id=scope.id))
        try:
            out.write_bytes(write_xlsx(report))
        except OSError as exc:
            return fail(
                _("Cannot write {path}: {error}").format(path=str(out), error=exc.strerror or str(exc))
            )
        session.add(
            AuditLog(
                at=app.clock(),
                actor_person_id=None,
                action="attendance.report.export",
                target=f"{scope.kind}:{scope.id}",
                details={
                    "first": first.isoformat(),
                    "last": last.isoformat(),
                    "via": "cli",
                    "file": out.name,
                },
            )
        )
    print(
        _("Wrote {path}: {classes} classes, {absences} absences, {cases} cases.").format(
            path=str(out), classes=len(report.classes), absences=len(report.absences), cases=len(report.cases)
        )
    )
    return 0
