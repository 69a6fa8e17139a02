"""Announcements: the list by date, writing one (now or at a set time), reading one (which marks it
read), its picture, and for its author how many of the audience have read it."""
from flask import Blueprint, abort, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from gridapp import uploads
from gridapp.announcements import services
from gridapp.announcements.forms import AnnouncementForm
from gridapp.announcements.models import Announcement
from gridapp.core.acting import act
from gridapp.core.templating import ROLE_LABELS
from gridapp.extensions import db
from gridapp.policy import can, require
from gridapp.timeutil import as_utc

bp = Blueprint("announcements", __name__, template_folder="templates")


def _or_404(announcement_id: int) -> Announcement:
    ann = db.session.get(Announcement, announcement_id)
    if ann is None or not can(current_user, "view", ann):
        abort(404)
    return ann


def _form(formdata=None) -> AnnouncementForm:
    form = AnnouncementForm() if formdata is None else AnnouncementForm(formdata=formdata)
    form.places.choices = services.place_choices(current_user)
    # The town-wide roles hear only announcements to the whole town: not offered to whom cannot
    # address it.
    town = any(value == services.TOWN for value, _label in form.places.choices)
    form.roles.choices = [(r, str(ROLE_LABELS[r])) for r in services.AUDIENCE_ROLES
                          if town or r not in services.TOWN_ROLES]
    return form


@bp.get("/")
@login_required
def index():
    require(current_user, "view_announcements")
    items = services.listing(current_user)
    mine = [a.id for a in items if a.author_id == current_user.id]
    return render_template("announcements/index.html", items=items, reads=services.read_counts(mine),
                           unread_ids={a.id for a in services.unread_for(current_user, limit=200)},
                           can_publish=can(current_user, "publish_announcements"))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    require(current_user, "publish_announcements")
    form = _form()
    if not form.is_submitted():
        form.roles.data = ["secretary", "grid_member", "building_head", "volunteer"]
        if len(form.places.choices) == 1:  # a secretary of one community: hers, ticked
            form.places.data = [form.places.choices[0][0]]

    def do():
        image = None
        if form.image.data and getattr(form.image.data, "filename", ""):
            image = uploads.save_image(form.image.data)
        try:
            return services.create(current_user, {
                "title": form.title.data, "body": form.body.data, "roles": form.roles.data,
                "places": form.places.data, "publish_at": as_utc(form.publish_at.data)}, image=image)
        except Exception:
            uploads.delete_image(image)  # refused: no picture left behind
            raise

    def show(form=form, refused=None):
        return render_template("announcements/new.html", form=form, refused=refused)

    if not form.is_submitted():
        return show()
    return act(do, done=lambda ann: (_("Published.") if ann.published_at else
                                     _("Saved: it is published at the time you chose.")),
               show=show, back=lambda ann: url_for("announcements.view", announcement_id=ann.id),
               refused_back=url_for("announcements.index"), form=form, upload_field="image")


@bp.get("/<int:announcement_id>")
@login_required
def view(announcement_id):
    ann = _or_404(announcement_id)
    if services.read_state(ann, current_user) is not None:
        services.mark_read(ann, current_user)
        db.session.commit()
    reads = services.read_counts([ann.id]).get(ann.id, 0) if can(current_user, "view_reads", ann) else None
    place_names = dict(services.place_choices(ann.author)) if reads is not None else {}
    return render_template("announcements/view.html", ann=ann, reads=reads, role_labels=ROLE_LABELS,
                           place_names=place_names)


@bp.get("/<int:announcement_id>/image")
@login_required
def image(announcement_id):
    ann = _or_404(announcement_id)
    if not ann.image:
        abort(404)
    try:
        return uploads.send_image(ann.image)
    except FileNotFoundError:
        abort(404)
