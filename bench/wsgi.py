"""The app as gunicorn serves it in production, plus two views of the benchmark's own: the
baseline (a trivial view: the same process model, middleware and headers, and no work of its
own) and a reference (an empty page in the layout, logged in: what every page pays before its
content — the session, the navigation, the unread badge, the layout's HTML)."""
from flask_login import login_required

from wsgi import app

_EMPTY = app.jinja_env.from_string('{% extends "base.html" %}{% block content %}{% endblock %}')


@login_required
def _layout():
    context: dict = {}
    app.update_template_context(context)
    return _EMPTY.render(context)


app.add_url_rule("/bench/ping", "bench_ping", lambda: "ok")
app.add_url_rule("/bench/layout", "bench_layout", _layout)
