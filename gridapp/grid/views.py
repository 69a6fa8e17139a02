"""Pages of the grid: town, communities, grids, compounds, households, organisations.

Every object route reads the same way: load or 404, `require()` the action on that object,
validate the form, one service call, commit, respond. Edits are inline with htmx (the
edit link swaps the card or row for its form, the form swaps back the saved card or row)
and work identically without JavaScript (full edit page, then a redirect).
"""
from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from gridapp.core.http import paginate, render, toast, wants_fragment
from gridapp.core.params import text_arg
from gridapp.core.rules import RuleError
from gridapp.core.security import mark_personal
from gridapp.extensions import db
from gridapp.grid import services
from gridapp.grid.forms import (
    CommunityForm,
    CompoundForm,
    GridForm,
    HouseholdForm,
    HouseholdSearchForm,
    OrgForm,
    TownForm,
)
from gridapp.grid.models import Community, Compound, Grid, Household, PropertyCompany, WorkUnit
from gridapp.policy import can, require
from gridapp.privacy import services as privacy

bp = Blueprint("grid", __name__, template_folder="templates")

ORG_MODELS = {"companies": PropertyCompany, "units": WorkUnit}


@bp.context_processor
def _grid_context():
    return {"today": services.town_today()}


# --- shared flow -----------------------------------------------------------------------------

def _crumbs(obj, itself: bool = False) -> list:
    """(label, url) from the town down to obj's parent (or to obj itself)."""
    chain = []
    node = obj
    while node is not None:
        if isinstance(node, Household):
            node = node.compound
        elif isinstance(node, Compound):
            chain.append((node.name, url_for("grid.compound", compound_id=node.id)))
            node = node.grid
        elif isinstance(node, Grid):
            chain.append((node.name, url_for("grid.grid", grid_id=node.id)))
            node = node.community
        elif isinstance(node, Community):
            chain.append((node.name, url_for("grid.community", community_id=node.id)))
            node = node.town
        else:  # the town
            chain.append((node.name, url_for("grid.index")))
            node = None
    chain.reverse()
    if not itself and not isinstance(obj, Household):
        chain.pop()  # on its own page the object is the heading
    return chain


def _submit(form, save, *, done_url, message: str, fragment: str, fragment_ctx, page: dict):
    """Validate, save (one service call), commit, answer; or show the form again with its errors.

    done_url and fragment_ctx are values, or functions of the saved object (for creations).

    A targeted htmx request gets the fragment (the saved card or row, with a toast) or the
    inline form; a plain or boosted request gets a redirect or the full form page.
    """
    if form.validate_on_submit():
        try:
            saved = save(form.values())
        except RuleError as exc:
            form[exc.field].errors.append(str(exc))
        else:
            db.session.commit()
            if wants_fragment():
                ctx = fragment_ctx(saved) if callable(fragment_ctx) else fragment_ctx
                return toast(make_response(render_template(fragment, **ctx)), message)
            flash(message, "success")
            return redirect(done_url(saved) if callable(done_url) else done_url)
    # A form sent with errors is invalid input (422, as core.acting.act answers); a GET shows it (200).
    status = 422 if form.is_submitted() else 200
    return render("grid/edit.html", "grid/_form.html", form=form, inline=wants_fragment(), **page), status


def _edit_page(title, crumbs, action, target, cancel_url, *, tag="section", cancel_hx=None, cancel_select=True):
    return {"title": title, "crumbs": crumbs, "action": action, "target": target, "tag": tag,
            "cancel_url": cancel_url, "cancel_hx": cancel_hx or cancel_url, "cancel_select": cancel_select}


def _new_page(title, crumbs, action, cancel_url, submit_label):
    return {"title": title, "crumbs": crumbs, "action": action, "target": "", "tag": "section",
            "cancel_url": cancel_url, "cancel_hx": None, "cancel_select": False, "submit_label": submit_label}


def _compound_form(**kw):
    form = CompoundForm(**kw)
    form.set_org_choices(services.property_companies(), services.work_units())
    return form


# --- the town ----------------------------------------------------------------------------------

@bp.get("/")
@login_required
def index():
    require(current_user, "view_grid")
    town = services.the_town()
    return render_template("grid/index.html", town=town, communities=services.communities_with_counts(current_user),
                           own=services.own_compounds(current_user),
                           add_form=CommunityForm(formdata=None, id_prefix="new-community"))


@bp.route("/town/edit", methods=["GET", "POST"])
@login_required
def edit_town():
    town = services.the_town()
    if town is None:
        abort(404)
    require(current_user, "edit", town)
    form = TownForm(obj=town, id_prefix=f"town-{town.id}")
    return _submit(
        form, lambda values: services.update_town(town, values),
        done_url=url_for("grid.index"), message=_("Saved."),
        fragment="grid/_town_card.html", fragment_ctx={"town": town},
        page=_edit_page(_("Edit the town"), [(town.name, url_for("grid.index"))], url_for("grid.edit_town"),
                        f"town-{town.id}", url_for("grid.index")),
    )


@bp.route("/communities/new", methods=["GET", "POST"])
@login_required
def new_community():
    town = services.the_town()
    if town is None:
        abort(404)
    require(current_user, "add_child", town)
    form = CommunityForm(id_prefix="new-community")
    return _submit(
        form, lambda values: services.create_community(town, values),
        done_url=lambda c: url_for("grid.community", community_id=c.id), message=_("Community added."),
        fragment="grid/_community_card.html", fragment_ctx=lambda c: {"community": c},
        page=_new_page(_("Add a community"), [(town.name, url_for("grid.index"))], url_for("grid.new_community"),
                       url_for("grid.index"), _("Add community")),
    )


# --- communities -------------------------------------------------------------------------------

@bp.get("/communities/<int:community_id>")
@login_required
def community(community_id):
    community = db.get_or_404(Community, community_id)
    require(current_user, "view", community)
    return render_template("grid/community.html", community=community, crumbs=_crumbs(community),
                           grids=services.grids_with_counts(current_user, community),
                           add_form=GridForm(formdata=None, id_prefix="new-grid"))


@bp.route("/communities/<int:community_id>/edit", methods=["GET", "POST"])
@login_required
def edit_community(community_id):
    community = db.get_or_404(Community, community_id)
    require(current_user, "edit", community)
    form = CommunityForm(obj=community, id_prefix=f"community-{community.id}")
    page_url = url_for("grid.community", community_id=community.id)
    return _submit(
        form, lambda values: services.update_community(community, values),
        done_url=page_url, message=_("Saved."),
        fragment="grid/_community_card.html", fragment_ctx={"community": community},
        page=_edit_page(_("Edit %(name)s", name=community.name), _crumbs(community, itself=True),
                        url_for("grid.edit_community", community_id=community.id), f"community-{community.id}",
                        page_url),
    )


@bp.route("/communities/<int:community_id>/grids/new", methods=["GET", "POST"])
@login_required
def new_grid(community_id):
    community = db.get_or_404(Community, community_id)
    require(current_user, "add_child", community)
    form = GridForm(id_prefix="new-grid")
    page_url = url_for("grid.community", community_id=community.id)
    return _submit(
        form, lambda values: services.create_grid(community, values),
        done_url=lambda g: url_for("grid.grid", grid_id=g.id), message=_("Grid added."),
        fragment="grid/_grid_card.html", fragment_ctx=lambda g: {"grid": g},
        page=_new_page(_("Add a grid"), _crumbs(community, itself=True),
                       url_for("grid.new_grid", community_id=community.id), page_url, _("Add grid")),
    )


# --- grids -------------------------------------------------------------------------------------

@bp.get("/grids/<int:grid_id>")
@login_required
def grid(grid_id):
    grid = db.get_or_404(Grid, grid_id)
    require(current_user, "view", grid)
    return render_template("grid/grid.html", grid=grid, crumbs=_crumbs(grid),
                           compounds=services.compounds_with_counts(current_user, grid),
                           add_form=_compound_form(formdata=None, id_prefix="new-compound"))


@bp.route("/grids/<int:grid_id>/edit", methods=["GET", "POST"])
@login_required
def edit_grid(grid_id):
    grid = db.get_or_404(Grid, grid_id)
    require(current_user, "edit", grid)
    form = GridForm(obj=grid, id_prefix=f"grid-{grid.id}")
    page_url = url_for("grid.grid", grid_id=grid.id)
    return _submit(
        form, lambda values: services.update_grid(grid, values),
        done_url=page_url, message=_("Saved."),
        fragment="grid/_grid_card.html", fragment_ctx={"grid": grid},
        page=_edit_page(_("Edit %(name)s", name=grid.name), _crumbs(grid, itself=True),
                        url_for("grid.edit_grid", grid_id=grid.id), f"grid-{grid.id}", page_url),
    )


@bp.route("/grids/<int:grid_id>/compounds/new", methods=["GET", "POST"])
@login_required
def new_compound(grid_id):
    grid = db.get_or_404(Grid, grid_id)
    require(current_user, "add_child", grid)
    form = _compound_form(id_prefix="new-compound")
    page_url = url_for("grid.grid", grid_id=grid.id)
    return _submit(
        form, lambda values: services.create_compound(grid, values),
        done_url=lambda c: url_for("grid.compound", compound_id=c.id), message=_("Compound added."),
        fragment="grid/_compound_card.html", fragment_ctx=lambda c: {"compound": c},
        page=_new_page(_("Add a compound"), _crumbs(grid, itself=True),
                       url_for("grid.new_compound", grid_id=grid.id), page_url, _("Add compound")),
    )


# --- compounds -----------------------------------------------------------------------------------

@bp.get("/compounds/<int:compound_id>")
@login_required
def compound(compound_id):
    compound = db.get_or_404(Compound, compound_id)
    require(current_user, "view", compound)
    q = text_arg("q", 100)
    households = None
    add_form = None
    if can(current_user, "view_households", compound):
        mark_personal()
        households = paginate(services.compound_households(compound, q))
        privacy.record_list_look(current_user, "compound_households", households.items)
        if can(current_user, "add_child", compound):
            add_form = HouseholdForm(formdata=None, id_prefix="new-household")
    return render_template("grid/compound.html", compound=compound, crumbs=_crumbs(compound), q=q,
                           households=households, add_form=add_form)


@bp.route("/compounds/<int:compound_id>/edit", methods=["GET", "POST"])
@login_required
def edit_compound(compound_id):
    compound = db.get_or_404(Compound, compound_id)
    require(current_user, "edit", compound)
    form = _compound_form(obj=compound, id_prefix=f"compound-{compound.id}")
    page_url = url_for("grid.compound", compound_id=compound.id)
    return _submit(
        form, lambda values: services.update_compound(compound, values),
        done_url=page_url, message=_("Saved."),
        fragment="grid/_compound_card.html", fragment_ctx={"compound": compound},
        page=_edit_page(_("Edit %(name)s", name=compound.name), _crumbs(compound, itself=True),
                        url_for("grid.edit_compound", compound_id=compound.id), f"compound-{compound.id}",
                        page_url),
    )


@bp.route("/compounds/<int:compound_id>/households/new", methods=["GET", "POST"])
@login_required
def new_household(compound_id):
    compound = db.get_or_404(Compound, compound_id)
    require(current_user, "add_child", compound)
    mark_personal()
    form = HouseholdForm(id_prefix="new-household")
    page_url = url_for("grid.compound", compound_id=compound.id)
    return _submit(
        form, lambda values: services.create_household(compound, values),
        done_url=page_url, message=_("Household registered."),
        fragment="grid/_household_row.html", fragment_ctx=lambda h: {"h": h},
        page=_new_page(_("Register a household"), _crumbs(compound, itself=True),
                       url_for("grid.new_household", compound_id=compound.id), page_url, _("Register household")),
    )


# --- households ----------------------------------------------------------------------------------

@bp.get("/households/")
@login_required
def households():
    require(current_user, "search_households")
    mark_personal()
    form = HouseholdSearchForm(request.args)
    form.validate()  # a bad value is ignored, never refused: this is only a search
    q = (form.q.data or "")[:100] if not form.q.errors else ""
    filters = form.filters()
    page = paginate(services.search_households(current_user, q, filters))
    privacy.record_list_look(current_user, "household_search", page.items)
    args = {"q": q or None, **{k: 1 for k, v in filters.items() if v}}
    return render_template("grid/households.html", form=form, households=page, pager_args=args)


@bp.get("/households/<int:household_id>")
@login_required
def household(household_id):
    """The household's row (htmx: restores it after a cancelled edit); its compound page otherwise."""
    household = db.get_or_404(Household, household_id)
    require(current_user, "view", household)
    mark_personal()
    if wants_fragment():
        privacy.record_household_look(current_user, household, "household_row")
        return render_template("grid/_household_row.html", h=household, show_place=_show_place())
    return redirect(url_for("grid.compound", compound_id=household.compound_id, q=household.room))


def _show_place() -> bool:
    """Rows of the cross-compound search name their compound; rows on a compound page do not."""
    return request.args.get("show_place") == "1"


@bp.route("/households/<int:household_id>/edit", methods=["GET", "POST"])
@login_required
def edit_household(household_id):
    household = db.get_or_404(Household, household_id)
    require(current_user, "edit", household)
    mark_personal()
    if request.method == "GET":
        privacy.record_household_look(current_user, household, "household_form")
    form = HouseholdForm(obj=household, id_prefix=f"household-{household.id}")
    show_place = _show_place()
    compound_url = url_for("grid.compound", compound_id=household.compound_id)
    return _submit(
        form, lambda values: services.update_household(household, values),
        done_url=compound_url, message=_("Saved."),
        fragment="grid/_household_row.html", fragment_ctx={"h": household, "show_place": show_place},
        page=_edit_page(_("Edit household %(label)s", label=household.label), _crumbs(household),
                        url_for("grid.edit_household", household_id=household.id,
                                show_place=1 if show_place else None),
                        f"household-{household.id}", compound_url, tag="li", cancel_select=False,
                        cancel_hx=url_for("grid.household", household_id=household.id,
                                          show_place=1 if show_place else None)),
    )


# --- property companies and work units -----------------------------------------------------------

@bp.get("/orgs")
@login_required
def orgs():
    require(current_user, "view_grid")
    return render_template("grid/orgs.html", companies=services.property_companies(), units=services.work_units(),
                           add_forms={kind: OrgForm(formdata=None, id_prefix=f"new-{kind}") for kind in ORG_MODELS})


def _org_or_404(kind, org_id):
    if kind not in ORG_MODELS:
        abort(404)
    return db.get_or_404(ORG_MODELS[kind], org_id)


@bp.route("/orgs/<kind>/new", methods=["GET", "POST"])
@login_required
def new_org(kind):
    if kind not in ORG_MODELS:
        abort(404)
    require(current_user, "manage_orgs")
    form = OrgForm(id_prefix=f"new-{kind}")
    title = _("Add a property company") if kind == "companies" else _("Add a work unit")
    return _submit(
        form, lambda values: services.create_org(ORG_MODELS[kind], values),
        done_url=url_for("grid.orgs"), message=_("Added."),
        fragment="grid/_org_row.html", fragment_ctx=lambda o: {"org": o, "kind": kind},
        page=_new_page(title, [(_("Property companies and work units"), url_for("grid.orgs"))],
                       url_for("grid.new_org", kind=kind), url_for("grid.orgs"), _("Add")),
    )


@bp.route("/orgs/<kind>/<int:org_id>/edit", methods=["GET", "POST"])
@login_required
def edit_org(kind, org_id):
    org = _org_or_404(kind, org_id)
    require(current_user, "manage_orgs")
    form = OrgForm(obj=org, id_prefix=f"{kind}-{org.id}")
    return _submit(
        form, lambda values: services.update_org(org, values),
        done_url=url_for("grid.orgs"), message=_("Saved."),
        fragment="grid/_org_row.html", fragment_ctx={"org": org, "kind": kind},
        page=_edit_page(_("Edit %(name)s", name=org.name),
                        [(_("Property companies and work units"), url_for("grid.orgs"))],
                        url_for("grid.edit_org", kind=kind, org_id=org.id), f"{kind}-{org.id}",
                        url_for("grid.orgs"), tag="li"),
    )
