"""Static files under content-hashed names: linked through url_for, served for a year as immutable,
a changed file a new name; in a real browser a repeat visit fetches only the page."""
import re

import pytest
from flask import request_started, url_for

from gridapp.core.assets import manifest_of
from tests.browser import login
from tests.conftest import DEFAULT_PASSWORD

HASHED = re.compile(r'(?:href|src)="(/[a-z]*/?static/[^"]+)"')


def test_pages_link_hashed_names_served_immutable(app, client, world):
    html = client.get("/login").get_data(as_text=True)
    links = HASHED.findall(html)
    assert {re.sub(r"\.[0-9a-f]{12}\.", ".", u) for u in links} >= {
        "/static/css/app.css", "/static/js/app.js", "/static/vendor/htmx/htmx-2.0.11.min.js", "/static/favicon.svg"}
    for url in links:
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable", url
    # The plain name still answers, revalidated each time; a hash that names nothing is a 404.
    plain = client.get("/static/css/app.css")
    assert plain.status_code == 200 and "immutable" not in plain.headers["Cache-Control"]
    assert client.get("/static/css/app.000000000000.css").status_code == 404
    with app.test_request_context():
        assert re.fullmatch(r"/supervision/static/print\.[0-9a-f]{12}\.css",
                            url_for("supervision.static", filename="print.css"))


def test_a_changed_file_gets_a_new_name(tmp_path):
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "a.css").write_text("body{color:red}")
    (tmp_path / "LICENSE").write_text("MIT")
    first = manifest_of(str(tmp_path))
    assert re.fullmatch(r"css/a\.[0-9a-f]{12}\.css", first["css/a.css"])
    assert re.fullmatch(r"LICENSE\.[0-9a-f]{12}", first["LICENSE"])
    (tmp_path / "css" / "a.css").write_text("body{color:blue}")
    second = manifest_of(str(tmp_path))
    assert second["css/a.css"] != first["css/a.css"] and second["LICENSE"] == first["LICENSE"]


@pytest.mark.browser
def test_a_repeat_visit_fetches_only_the_page(app, live_server, chromium, world):
    fetched = []

    def _count(sender, **_kw):
        from flask import request

        fetched.append(request.path)

    request_started.connect(_count, app)
    try:
        context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        page = context.new_page()
        login(page, live_server.url, "secretary1", DEFAULT_PASSWORD)
        page.goto(f"{live_server.url}/duty/", wait_until="networkidle")  # (the icon comes when it comes)
        assert any("/static/" in p for p in fetched)  # the first visit loads the styles and scripts
        fetched.clear()
        page.goto(f"{live_server.url}/grid/households/")
        page.goto(f"{live_server.url}/")
        assert fetched == ["/grid/households/", "/"], fetched
        context.close()
    finally:
        request_started.disconnect(_count, app)
