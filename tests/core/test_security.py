"""Security headers, cookies, CSRF (plain and htmx), caching of personal pages, errors."""
import pytest
from sqlalchemy import select

from gridapp.audit.models import AuditEvent
from gridapp.extensions import db


def test_security_headers_on_every_page(client, world):
    for url in ("/login", "/healthz", "/static/css/app.css", "/no-such-page"):
        resp = client.get(url)
        csp = resp.headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["script-src"] == "'self'"
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert directives["object-src"] == "'none'"
        assert directives["base-uri"] == "'none'"
        assert directives["frame-ancestors"] == "'none'"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_httponly_and_lax(client, world):
    resp = client.post("/login", {"username": "vol1", "password": "correct-horse-42"})
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_production_cookie_is_secure(monkeypatch):
    from gridapp.config import load_config

    monkeypatch.setenv("GRIDAPP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.delenv("GRIDAPP_CLOCK_OFFSET", raising=False)  # a shifted clock is refused in production
    from pathlib import Path

    assert load_config(Path("/tmp"))["SESSION_COOKIE_SECURE"] is True


def test_production_requires_a_secret_key(monkeypatch):
    from pathlib import Path

    from gridapp.config import ConfigError, load_config

    monkeypatch.setenv("GRIDAPP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        load_config(Path("/tmp"))


def test_vary_hx_request_and_personal_pages_not_stored(client, world):
    client.login("vol1")
    resp = client.get("/profile")
    assert resp.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in resp.headers["Vary"]
    assert 'hx-history="false"' in resp.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(client, world):
    client.login("vol1")
    resp = client.post("/logout", csrf=False)
    assert resp.status_code == 400
    assert client.get("/").status_code == 200  # still logged in: nothing happened


def test_htmx_post_carries_token_in_header(client, world):
    client.login("vol1")
    page = client.get("/").get_data(as_text=True)
    assert 'hx-headers=\'{"X-CSRFToken": "' in page
    resp = client.htmx_post("/logout")
    assert resp.status_code == 302
    assert client.get("/").status_code == 302


def test_htmx_post_without_header_token_is_refused(client, world):
    client.login("vol1")
    resp = client.raw.post("/logout", headers={"HX-Request": "true"})
    assert resp.status_code == 400
    assert resp.headers.get("HX-Reswap") == "none"  # htmx leaves the page as it was
    assert "HX-Trigger" in resp.headers


def test_custom_404_page(client, world):
    resp = client.get("/grid/nothing-here/at-all")
    assert resp.status_code == 404
    assert "<html" in resp.get_data(as_text=True)


def test_custom_500_page_hides_the_error(app, client, world):
    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("secret internals")

    resp = client.get("/boom-for-test")
    assert resp.status_code == 500
    body = resp.get_data(as_text=True)
    assert "secret internals" not in body
    assert "<html" in body


def test_refused_action_is_audited(client, world):
    client.login("vol1")
    assert client.get("/admin/users").status_code == 403
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "denied")).all()
    assert len(events) == 1
    assert events[0].actor_name == "vol1"
    assert events[0].summary == "manage_users"


def test_anonymous_is_sent_to_login(client, world):
    resp = client.get("/profile")
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"]


def test_open_redirect_is_refused(client, world):
    resp = client.post("/login?next=//evil.example/x", {"username": "vol1", "password": "correct-horse-42"})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


@pytest.mark.parametrize("url", ["/grid/communities/99999999999999999999", "/grid/households/99999999999999999999/edit",
                                 "/admin/users/99999999999999999999"])
def test_ids_too_large_for_a_row_are_404_not_500(client, world, url):
    client.login("admin")
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("url", ["/grid/households/", "/admin/users", "/notifications/", "/admin/audit"])
def test_absurd_page_numbers_are_safe(client, world, url):
    client.login("admin")
    for page in ("99999999999999999999", "-5", "abc"):
        assert client.get(f"{url}?page={page}").status_code == 200


def test_navigation_marks_only_the_current_section(client, world):
    client.login("admin")
    body = client.get("/admin/audit").get_data(as_text=True)
    assert body.count('aria-current="page"') == 1
    assert 'href="/admin/audit" aria-current="page"' in body
