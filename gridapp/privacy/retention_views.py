"""/privacy/retention: how long each kind of personal data is kept, and the last purges."""
from flask import Blueprint, render_template
from flask_login import current_user, login_required

from gridapp.policy import require
from gridapp.privacy import retention

bp = Blueprint("retention", __name__, template_folder="templates")


def _page_context() -> dict:
    return {"categories": retention.CATEGORIES, "days": retention.days, "labels": retention.BY_KEY,
            "triggers": retention.TRIGGER_LABELS}


@bp.get("/retention")
@login_required
def index():
    require(current_user, "view_retention")
    return render_template("privacy/retention.html", runs=retention.recent_runs(), **_page_context())
