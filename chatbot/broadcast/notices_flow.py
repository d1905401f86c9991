"""/notices: the sender's recent notices, each with a Status button (diagram: notices_flow.mmd)."""

from __future__ import annotations

from chatbot.broadcast.notice_flow import may_send_notices
from chatbot.broadcast.payloads import NoticeStatus
from chatbot.broadcast.service import recent_broadcasts
from chatbot.broadcast.views import summary_line
from chatbot.core.context import Context
from chatbot.core.flow import END, Entry, Flow, Outcome, say
from chatbot.core.messages import Button, Incoming
from chatbot.i18n import N_, _


def list_notices(ctx: Context, msg: Incoming) -> Outcome:
    """One line per recent notice, and a button to open each."""
    assert ctx.person is not None
    notices = recent_broadcasts(ctx.session, ctx.person)
    if not notices:
        return say(_("You have not sent any notices yet. Send /notice to write one."))
    lines = [_("Your recent notices:")]
    lines += [summary_line(ctx.session, b, ctx.now) for b in notices]
    rows = [[Button(_("Notice #{id}").format(id=b.id), NoticeStatus(b.id).pack())] for b in notices]
    return say("\n".join(lines), *rows)


FLOW = Flow.create(
    "notices",
    Entry(list_notices, goes_to=(END,)),
    {},
    commands=("notices",),
    allowed=may_send_notices,
    help=N_("see my notices, remind, cancel"),
    help_order=41,
)
