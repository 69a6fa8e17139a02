"""An export's personal columns: left out unless asked for explicitly (`personal=1`) with a reason,
and then only after the password is typed again; every export recorded (who, what, which place,
how many rows, with or without personal columns and why).

A view that hands out a spreadsheet reads `choose()` after its permission check: either the choice
(plain, or personal with its reason) or the response to send instead — the reason form again with
its message (422), or the password prompt. It builds its `xlsx.Book` with `choice.reason` and calls
`recorded()` with the book before sending it.
"""
from dataclasses import dataclass

from flask import render_template, request
from flask_babel import gettext as _

from gridapp.auth.reauth import prompt_unless_recent
from gridapp.core.forms import MESSAGES
from gridapp.core.params import text_problem
from gridapp.core.security import mark_personal
from gridapp.extensions import db
from gridapp.privacy.services import record_look

REASON_MIN, REASON_MAX = 4, 200


@dataclass(frozen=True)
class Choice:
    personal: bool = False
    reason: str = ""


def choose(title: str, personal_columns: list[str]):
    """The request's choice, or the response to send instead of the file."""
    if request.args.get("personal") != "1":
        return Choice()
    raw = request.args.get("reason") or ""
    reason = " ".join(raw.split())
    error = None
    if (problem := text_problem(raw)) is not None:  # kept as typed it would be stored: never control bytes
        error, reason = str(MESSAGES[problem]), ""
    elif len(reason) < REASON_MIN:
        error = _("Say why the file needs personal columns (at least %(n)d characters).", n=REASON_MIN)
    elif len(reason) > REASON_MAX:
        error = _("At most %(n)d characters.", n=REASON_MAX)
    if error:
        args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("personal", "reason")]
        return render_template("privacy/export_reason.html", title=title, columns=personal_columns, args=args,
                               reason=reason, error=error, action=request.path), 422
    if (ask := prompt_unless_recent()) is not None:
        return ask
    return Choice(True, reason)


def recorded(user, what: str, choice: Choice, book, *, community_id: int | None = None, scope: str = ""):
    """Record the export of this book (committed); the response is never cached."""
    record_look(user, "export", what, community_id=community_id, scope=scope or book.heading[:200],
                rows=book.rows, personal=choice.personal, reason=choice.reason)
    db.session.commit()
    mark_personal()
