"""GridApp.url_for keeps the relative URLs it built in a request (gridapp/extensions.py): what it
gives must be what Flask builds, for every kind of call, whatever was asked before."""
from flask import Flask, url_for

from gridapp.extensions import URL_CACHE_SIZE

CALLS = [
    ("errands.board", {}),
    ("errands.board", {"page": 2}),
    ("errands.board", {"page": True}),  # True == 1 in a dict key, not in a URL
    ("errands.board", {"page": 1}),
    ("errands.board", {"page": 1.0}),
    ("errands.claim", {"errand_id": 7}),
    ("errands.claim", {"errand_id": 8}),
    ("errands.show", {"errand_id": 7, "from": "board"}),
    ("errands.board", {"category": "medicine", "urgency": "urgent"}),
    ("errands.board", {"category": "买菜 & 药", "q": "a/b?c"}),
    ("errands.board", {"tag": ["a", "b"]}),  # a list: not a key, built each time
    ("static", {"filename": "css/app.css"}),  # the hashed name, through the url_defaults hook
    ("duty.roster", {"start": "2026-12-01"}),
]


def _flask(app, endpoint, **values):
    return Flask.url_for(app, endpoint, **values)


def test_built_urls_are_flasks_the_first_time_and_after(app):
    for script_name in ("", "/town"):
        for _round in range(2):  # built, then from what was kept
            with app.test_request_context("/", base_url=f"http://localhost{script_name}"):
                for endpoint, values in CALLS:
                    assert url_for(endpoint, **values) == _flask(app, endpoint, **values), (endpoint, values)
                    assert url_for(endpoint, **values).startswith(script_name + "/")
    with app.test_request_context("/"):
        assert url_for("errands.board", page=True) == "/errands/?page=True"
        assert url_for("errands.board", page=1) == "/errands/?page=1"
        assert ".css" in url_for("static", filename="css/app.css") != "/static/css/app.css"


def test_anchors_external_urls_and_relative_endpoints_are_built_each_time(app):
    with app.test_request_context("/errands/", base_url="https://grid.example.cn"):
        assert url_for("errands.claim", errand_id=7, _anchor="x y") == "/errands/7/claim#x%20y"
        assert url_for("errands.claim", errand_id=7, _external=True) == "https://grid.example.cn/errands/7/claim"
        assert url_for("errands.claim", errand_id=7) == "/errands/7/claim"
        assert url_for(".claim", errand_id=7) == "/errands/7/claim"
    with app.test_request_context("/errands/", base_url="http://other.example.cn"):
        assert url_for("errands.claim", errand_id=7, _external=True) == "http://other.example.cn/errands/7/claim"
    app.config["SERVER_NAME"] = "grid.example.cn"
    try:
        with app.app_context():  # outside a request: Flask's own (external, SERVER_NAME)
            assert url_for("errands.claim", errand_id=7) == "http://grid.example.cn/errands/7/claim"
    finally:
        app.config["SERVER_NAME"] = None


def test_what_is_kept_is_bounded(app):
    app._built_urls.clear()
    with app.test_request_context("/"):
        for i in range(URL_CACHE_SIZE + 10):
            url_for("errands.claim", errand_id=i + 1)
        assert len(app._built_urls) <= URL_CACHE_SIZE
        assert url_for("errands.claim", errand_id=3) == "/errands/3/claim"
