"""What every template can use: the policy, local time, the language, navigation."""
from collections.abc import Mapping

from flask import current_app, g
from flask_babel import format_datetime, get_locale, get_translations, lazy_pgettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup

from gridapp import policy
from gridapp.audit.labels import action_label, object_label
from gridapp.notifications.services import unread_count
from gridapp.timeutil import to_local

# (endpoint, label, the global action that shows it[, the action of an entry whose page links to it:
# whoever may do that one finds it there, and the one desktop line keeps room])
NAVIGATION = [
    ("today.board", lazy_pgettext("menu", "Today"), "view_today"),
    ("grid.index", _l("Grid"), "view_grid"),
    ("admin.users", _l("Accounts"), "manage_users"),
    ("imports.index", _l("Import"), "import_data"),
    ("admin.invitations_page", _l("Invitations"), "invite_users", "manage_users"),
    ("admin.audit", _l("Audit trail"), "view_audit"),
    ("privacy.index", _l("Privacy"), "view_access_records"),
    ("notifications.webhooks", _l("Group robots"), "manage_webhooks"),
    ("ops.jobs", _l("Jobs"), "view_jobs"),
    ("supervision.index", _l("Supervision"), "view_supervision"),
    ("reports.index", _l("Daily reports"), "view_reports"),
    ("announcements.index", _l("Announcements"), "view_announcements"),
    ("disinfection.today", _l("Disinfection"), "view_disinfection"),
    ("duty.index", _l("Duty"), "view_duty"),
    ("errands.board", _l("Errands"), "view_errands"),
    ("observation.index", _l("Home observation"), "view_observation"),
    ("screening.index", _l("Screening"), "screening_menu"),
]

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "town_leader": _l("Town leader"),
    "supervisor": _l("Supervisor"),
    "secretary": _l("Community secretary"),
    "grid_member": _l("Grid member"),
    "building_head": _l("Building head"),
    "volunteer": _l("Volunteer"),
    "property_manager": _l("Property manager"),
    "unit_contact": _l("Work-unit contact"),
}

CHANNEL_LABELS = {"email": _l("E-mail"), "sms": _l("SMS")}

COMMUNITY_KIND_LABELS = {
    "community": _l("Community"),
    "village": _l("Village"),
    "urban_village": _l("Urban village"),
}


# Babel patterns made only of numbers and ASCII separators, as strftime formats.
_NUMERIC_PATTERNS = {
    "yyyy-MM-dd HH:mm": "%Y-%m-%d %H:%M",
    "yyyy-MM-dd HH:mm:ss": "%Y-%m-%d %H:%M:%S",
    "yyyy-MM-dd": "%Y-%m-%d",
    "MM-dd HH:mm": "%m-%d %H:%M",
    "HH:mm": "%H:%M",
}


class Labels(Mapping):
    """Lazy labels (a feature's STATUS_LABELS …) for one page: each is translated at its first use and
    then kept, instead of at every row that shows it (a lazy string looks its translation up again
    each time it is rendered)."""

    __slots__ = ("_lazy", "_done")

    def __init__(self, lazy: Mapping):
        self._lazy, self._done = lazy, {}

    def __getitem__(self, key):
        try:
            return self._done[key]
        except KeyError:
            value = self._done[key] = str(self._lazy[key])
            return value

    def __iter__(self):
        return iter(self._lazy)

    def __len__(self):
        return len(self._lazy)


def _bound():
    """(translations, memo) of this request's language: the catalogue looked up once per request
    rather than at every `_()` of a page (a list page has hundreds), kept beside Flask-Babel's own
    locale (g._flask_babel) with the locale it is for, so force_locale() or a change of language gets
    its own; and the texts of this request's `_()` without variables, translated and formatted, which a
    list says once per row. None for the memo outside a request's locale."""
    try:
        ns = g._flask_babel
    except (AttributeError, RuntimeError):  # no locale chosen yet, or no app context
        return get_translations(), None
    bound = getattr(ns, "gridapp_bound", None)
    locale = getattr(ns, "babel_locale", None)
    if bound is not None and locale is not None and bound[0] is locale:
        return bound[1], bound[2]
    translations = get_translations()
    ns.gridapp_bound = (ns.babel_locale, translations, {})
    return translations, ns.gridapp_bound[2]


def bound_translations():
    """The catalogue of this request's language, looked up once per request (see _bound)."""
    return _bound()[0]


# Templates' _(), gettext(), ngettext(), pgettext(), npgettext(), {% trans %}: Jinja's "newstyle"
# gettext exactly (the text is a %-format even without variables; in an autoescaped template it is
# Markup, so the variables are escaped), on the bound catalogue, in one call from the template.
# Jinja's own go through three (`_` resolves "gettext", which calls the catalogue's function, each
# through Context.call), and a list page says _() a hundred times or more.

def _formatted(context, rv: str, variables: dict):
    """What Jinja's newstyle gettext does with a translation: Markup in an autoescaped template (so
    the variables are escaped), then always a %-format."""
    if context.eval_ctx.autoescape:
        rv = Markup(rv)
    return rv % variables


@pass_context
def _gettext(__context, __string, **variables):
    translations, memo = _bound()
    if variables or memo is None:
        return _formatted(__context, translations.ugettext(__string), variables)
    key = (__string, __context.eval_ctx.autoescape)
    try:
        return memo[key]
    except KeyError:
        done = memo[key] = _formatted(__context, translations.ugettext(__string), variables)
        return done


@pass_context
def _ngettext(__context, __singular, __plural, __num, **variables):
    variables.setdefault("num", __num)
    return _formatted(__context, bound_translations().ungettext(__singular, __plural, __num), variables)


@pass_context
def _pgettext(__context, __string_ctx, __string, **variables):
    variables.setdefault("context", __string_ctx)
    return _formatted(__context, bound_translations().upgettext(__string_ctx, __string), variables)


@pass_context
def _npgettext(__context, __string_ctx, __singular, __plural, __num, **variables):
    variables.setdefault("context", __string_ctx)
    variables.setdefault("num", __num)
    return _formatted(__context, bound_translations().unpgettext(__string_ctx, __singular, __plural, __num), variables)


TEMPLATE_GETTEXT = {"_": _gettext, "gettext": _gettext, "ngettext": _ngettext, "pgettext": _pgettext,
                    "npgettext": _npgettext}


def init_app(app):
    app.jinja_env.newstyle_gettext = True
    app.jinja_env.globals.update(TEMPLATE_GETTEXT)

    @app.context_processor
    def _context():
        locale = str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
        nav, unread = [], 0
        user = current_user._get_current_object()  # resolved once, not at every can() in the page
        if user.is_authenticated:
            nav = [(ep, label) for ep, label, action, *under in NAVIGATION
                   if policy.can(user, action) and not (under and policy.can(user, under[0]))]
            # Counted with the login session (one statement for both) unless marked read since.
            unread = user.unread_at_load if user.unread_at_load is not None else unread_count(user)
        return {
            "can": lambda action, obj=None: policy.can(user, action, obj),
            # A transition's button: its state allows it and can() does (gridapp.core.rules).
            "allowed": lambda action, obj: policy.allowed(user, action, obj),
            "nav_items": nav,
            "unread": unread,
            "html_lang": "zh-Hans" if locale.startswith("zh") else locale,
            "current_locale": locale,
            "role_labels": ROLE_LABELS,
            "community_kinds": COMMUNITY_KIND_LABELS,
            "channel_labels": CHANNEL_LABELS,
        }

    app.add_template_filter(action_label, "audit_action")
    app.add_template_filter(object_label, "audit_object")

    @app.template_filter("local")
    def _local(value, fmt="yyyy-MM-dd HH:mm"):
        if value is None:
            return ""
        numeric = _NUMERIC_PATTERNS.get(fmt)
        if numeric:  # digits only, the same in every locale: no need for Babel (a list page has dozens)
            return to_local(value).strftime(numeric)
        return format_datetime(to_local(value), fmt)
