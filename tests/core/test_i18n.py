"""Chinese first, English second."""
from datetime import UTC

import pytest


def test_login_page_is_chinese_by_default(client, world):
    body = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-Hans">' in body
    assert "登录" in body
    assert "用户名或手机号" in body


def test_language_switch_to_english_and_back(client, world):
    client.get("/login")
    resp = client.post("/lang", {"lang": "en", "next": "/login"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    body = client.get("/login").get_data(as_text=True)
    assert "Log in" in body and '<html lang="en">' in body
    client.post("/lang", {"lang": "zh", "next": "/login"})
    assert "登录" in client.get("/login").get_data(as_text=True)


def test_unknown_language_is_ignored(client, world):
    client.post("/lang", {"lang": "xx", "next": "/login"})
    assert "登录" in client.get("/login").get_data(as_text=True)


def test_language_survives_login(client, world):
    client.post("/lang", {"lang": "en", "next": "/login"})
    client.login("vol1")
    assert "Log out" in client.get("/").get_data(as_text=True)


def test_error_pages_are_translated(client, world):
    assert "找不到" in client.get("/no-such-page").get_data(as_text=True)


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_the_local_filter_writes_numeric_patterns_as_babel_does(app, locale):
    """|local formats digits-only patterns with strftime (no Babel call per row); the text must be
    exactly Babel's, in the town's zone, in both locales."""
    from datetime import datetime, timedelta

    from flask_babel import format_datetime, refresh

    from gridapp.core.templating import _NUMERIC_PATTERNS
    from gridapp.timeutil import to_local

    local = app.jinja_env.filters["local"]
    moments = [datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC) + timedelta(minutes=37 * i) for i in range(80)]
    with app.test_request_context("/", headers={"Accept-Language": locale}):
        app.config["BABEL_DEFAULT_LOCALE"] = locale
        refresh()
        for fmt in _NUMERIC_PATTERNS:
            for m in moments:
                assert local(m, fmt) == format_datetime(to_local(m), fmt), (fmt, m)
        assert local(moments[0]) == "2026-12-31 23:59" and local(None) == ""


def test_templates_bind_the_catalogue_of_the_language_in_force(app):
    """Templates look the catalogue up once per request (gridapp.core.templating.bound_translations),
    yet a language forced or changed within the request gets its own."""
    from flask_babel import force_locale

    with app.test_request_context("/"):
        template = app.jinja_env.from_string('{{ _("Log out") }}|{{ pgettext("shift sign-up", "Withdraw") }}')
        assert template.render() == "退出登录|取消报名"
        with force_locale("en"):
            assert template.render() == "Log out|Withdraw"
        assert template.render() == "退出登录|取消报名"


def test_a_pages_labels_are_translated_once_in_its_language(app):
    """gridapp.core.templating.Labels: a mapping of lazy labels translated at first use and kept for
    the page, in the language in force when the page is drawn."""
    from flask_babel import force_locale

    from gridapp.core.templating import Labels
    from gridapp.duty.policy import STATUS_LABELS

    with app.test_request_context("/"):
        labels = Labels(STATUS_LABELS)
        assert set(labels) == set(STATUS_LABELS) and len(labels) == len(STATUS_LABELS)
        first = labels["checked_in"]
        assert type(first) is str and first == str(STATUS_LABELS["checked_in"]) and first != "On duty"
        assert labels["checked_in"] is first  # kept, not looked up again
        with force_locale("en"):
            english = Labels(STATUS_LABELS)
            assert english["checked_in"] == "On duty"
            rendered = app.jinja_env.from_string("{{ l['checked_in'] }}|{{ l|length }}").render(l=english)
            assert rendered == f"On duty|{len(STATUS_LABELS)}"


# Sources that use every gettext form a template may: plain, with variables (escaped when the template
# is, unless already Markup), a %% in the text, a plural, a context, {% trans %} blocks; and the same
# with autoescape off.
_GETTEXT_SOURCES = [
    '{{ _("Log out") }}|{{ gettext("Log out") }}',
    '{{ _("needed by %(when)s", when=w) }}|{{ _("needed by %(when)s", when=m) }}',
    '{{ _("Today so far: %(rate)d%% of closed windows done.", rate=87) }}|{{ _("100%%") }}',
    '{% for n in [1, 2] %}{{ ngettext("%(num)d day", "%(num)d days", n) }};{% endfor %}',
    '{{ pgettext("shift sign-up", "Withdraw") }}|{{ pgettext("menu", "Today") }}',
    '{{ npgettext("menu", "%(num)d item", "%(num)d items", 3) }}',
    '{% trans %}Log out{% endtrans %}|{% trans when=w %}needed by {{ when }}{% endtrans %}',
    '{% trans count=2 %}{{ count }} day{% pluralize %}{{ count }} days{% endtrans %}',
]


@pytest.mark.parametrize("locale", ["zh", "en"])
@pytest.mark.parametrize("autoescape", [True, False])
@pytest.mark.parametrize("source", _GETTEXT_SOURCES)
def test_templates_gettext_is_jinjas_newstyle_gettext(app, locale, autoescape, source):
    """gridapp.core.templating installs its own template gettext functions (one call each instead of
    Jinja's three): what they write must be exactly what Jinja's newstyle gettext writes, on the same
    catalogue, escaped or not as the template is."""
    from flask_babel import force_locale, get_translations
    from jinja2 import Environment
    from markupsafe import Markup

    if not autoescape:
        source = "{% autoescape false %}" + source + "{% endautoescape %}"
    with app.test_request_context("/"), force_locale(locale):
        translations = get_translations()
        reference = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
        reference.install_gettext_callables(
            translations.ugettext, translations.ungettext, newstyle=True,
            pgettext=translations.upgettext, npgettext=translations.unpgettext)
        expected = reference.from_string(source).render(w="<b>12-01 & 08:00</b>", m=Markup("<i>12-01</i>"))
        got = app.jinja_env.from_string(source).render(w="<b>12-01 & 08:00</b>", m=Markup("<i>12-01</i>"))
    assert got == expected
    if "when=w" in source:  # the variable is escaped exactly when the template escapes
        assert ("&lt;b&gt;" in got) == autoescape and ("<b>" in got) != autoescape


def test_templates_gettext_reads_the_language_in_force(app):
    with app.test_request_context("/"):
        assert app.jinja_env.from_string('{{ _("needed by %(when)s", when=1) }}').render() == "需在 1 前"
