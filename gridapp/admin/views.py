"""Administration: accounts and roles, the audit trail."""
from flask import Blueprint, render_template
from flask_login import current_user, login_required

from gridapp.policy import require

bp = Blueprint("admin", __name__, template_folder="templates")


@bp.get("/users")
@login_required
def users():
    require(current_user, "manage_users")
    return render_template("admin/users.html")


@bp.get("/audit")
@login_required
def audit():
    require(current_user, "view_audit")
    return render_template("admin/audit.html")
