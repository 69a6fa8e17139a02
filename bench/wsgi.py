"""The app as gunicorn serves it in production, plus one trivial view for the benchmark's
baseline: the same process model, middleware and headers, and no work of its own."""
from wsgi import app

app.add_url_rule("/bench/ping", "bench_ping", lambda: "ok")
