"""The inbox, notification preferences, and the group-robot webhooks of places."""
import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from gridapp import policy
from gridapp.core.http import paginate, redirect_back
from gridapp.core.params import parse_id, safe_next
from gridapp.core.security import mark_personal
from gridapp.extensions import db
from gridapp.grid.models import Community, Grid
from gridapp.notifications import services
from gridapp.notifications.forms import QuietHoursForm, WebhookForm
from gridapp.notifications.group import GroupText
from gridapp.notifications.models import USER_CHANNELS, GroupWebhook

bp = Blueprint("notifications", __name__, template_folder="templates")

TEST_LINES = (_l("Test notice from the town grid"), _l("If you can read this, the robot works."))


@bp.get("/")
@login_required
def inbox():
    mark_personal()
    page = paginate(services.inbox_query(current_user), per_page=25)
    return render_template("notifications/inbox.html", page=page)


@bp.get("/badge")
@login_required
def badge():
    return render_template("notifications/_badge.html", unread=services.unread_count(current_user))


@bp.post("/<int:notification_id>/read")
@login_required
def read(notification_id):
    n = services.mark_read(current_user, notification_id)
    if n is None:
        abort(404)
    db.session.commit()
    return redirect(safe_next(n.link) or url_for(".inbox"))


@bp.post("/read-all")
@login_required
def read_all():
    services.mark_all_read(current_user)
    db.session.commit()
    flash(_("All notices marked as read."), "success")
    return redirect(url_for(".inbox"))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    prefs, quiet = services.preferences_of(current_user)
    kinds = services.kinds_for(current_user)  # only the kinds the person's roles receive
    form = QuietHoursForm(data={"quiet_start": quiet[0], "quiet_end": quiet[1]})
    if request.method == "POST" and form.validate_on_submit():
        enabled = {tuple(v.split(":", 1)) for v in request.form.getlist("pref") if ":" in v}
        names = {k.name for k in kinds}
        enabled = {(k, c) for k, c in enabled if k in names and c in USER_CHANNELS}
        services.save_preferences(current_user, enabled, (form.quiet_start.data, form.quiet_end.data))
        db.session.commit()
        flash(_("Your notification settings are saved."), "success")
        return redirect(url_for(".settings"))
    return render_template("notifications/settings.html", form=form, prefs=prefs, kinds=kinds,
                           channels=USER_CHANNELS, email=current_user.email, phone=current_user.phone)


def _place_from_choice(value: str):
    kind, _sep, raw_id = (value or "").partition(":")
    place_id = parse_id(raw_id)
    model = {"community": Community, "grid": Grid}.get(kind)
    return db.session.get(model, place_id) if model and place_id else None


@bp.route("/webhooks", methods=["GET", "POST"])
@login_required
def webhooks():
    communities, grids = services.webhook_places(current_user)
    if not communities and not grids:
        policy.require(current_user, "manage_webhooks", None)
    form = WebhookForm()
    form.place.choices = ([(f"community:{c.id}", c.name) for c in communities]
                          + [(f"grid:{g.id}", f"{g.community.name} / {g.name}") for g in grids])
    if form.validate_on_submit():
        place = _place_from_choice(form.place.data)
        policy.require(current_user, "manage_webhooks", place)
        error = services.validate_webhook_url(form.url.data)
        if error:
            form.url.errors.append(error)
        else:
            services.add_webhook(current_user, place, form.provider.data, form.name.data, form.url.data,
                                 form.secret.data or "")
            db.session.commit()
            flash(_("The group robot is registered."), "success")
            return redirect(url_for(".webhooks"))
    visible = services.webhooks_of(communities, grids)
    names = {("community", c.id): c.name for c in communities}
    names.update({("grid", g.id): f"{g.community.name} / {g.name}" for g in grids})
    return render_template("notifications/webhooks.html", form=form, webhooks=visible, names=names)


def _load_webhook(webhook_id):
    wh = db.session.get(GroupWebhook, webhook_id) or abort(404)
    policy.require(current_user, "manage_webhooks", services.webhook_place(wh))
    return wh


@bp.post("/webhooks/<int:webhook_id>/delete")
@login_required
def delete_webhook(webhook_id):
    wh = _load_webhook(webhook_id)
    services.remove_webhook(current_user, wh)
    db.session.commit()
    flash(_("The group robot is removed."), "success")
    return redirect(url_for(".webhooks"))


@bp.post("/webhooks/<int:webhook_id>/test")
@login_required
def test_webhook(webhook_id):
    wh = _load_webhook(webhook_id)
    services.notify([], "test", _("Test notice from the town grid"), webhooks=[wh], group_text=GroupText(*TEST_LINES),
                    dedupe_key=f"webhook-test:{wh.id}:{uuid.uuid4().hex}", urgent=True)
    db.session.commit()
    flash(_("A test notice is on its way to the group."), "success")
    return redirect_back(url_for(".webhooks"))
