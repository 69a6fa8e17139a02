"""Pages of the grid: town, communities, grids, compounds, households."""
from flask import Blueprint, render_template
from flask_login import current_user, login_required

from gridapp.policy import require

bp = Blueprint("grid", __name__, template_folder="templates")


@bp.get("/")
@login_required
def index():
    require(current_user, "view_grid")
    return render_template("grid/index.html")
