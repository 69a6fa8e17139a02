"""Tokens that travel in a URL (an invitation's, a calendar feed's) are redacted from the access logs of
gunicorn (the Procfile's logger class) and of Werkzeug's development server."""
import logging
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from gunicorn.config import Config

from gridapp.core.redact import GunicornLogger, RedactingFilter, redact


def test_request_lines_and_referers_are_redacted_in_the_access_logs():
    assert redact("GET /invite/ABCD-EFGH-JKMN-PQRS-TVWX-YZ01?x=1 HTTP/1.1") == "GET /invite/***?x=1 HTTP/1.1"
    assert redact("/duty/feed/s3cr3t.ics") == "/duty/feed/***"
    assert redact("GET /invitations HTTP/1.1") == "GET /invitations HTTP/1.1"

    # Werkzeug's development server logs through the "werkzeug" logger, which create_app filters.
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - [%s] "%s" %s %s',
                               ("127.0.0.1", "now", "GET /invite/ABCD-EFGH HTTP/1.1", "200", "-"), None)
    assert RedactingFilter().filter(record) and "ABCD" not in record.getMessage()

    # gunicorn's access log (the Procfile's --logger-class).
    logger = GunicornLogger(Config())
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/invite/ABCD-EFGH-JKMN", "PATH_INFO": "/invite/ABCD-EFGH-JKMN",
               "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_REFERER": "https://x/invite/ABCD-EFGH-JKMN",
               "REMOTE_ADDR": "10.0.0.1"}
    resp = SimpleNamespace(status="200 OK", sent=10, headers=[])
    atoms = logger.atoms(resp, SimpleNamespace(headers=[("Referer", "https://x/invite/ABCD-EFGH-JKMN")]), environ,
                         timedelta(seconds=0))
    assert atoms["r"] == "GET /invite/*** HTTP/1.1" and atoms["U"] == "/invite/***"
    assert atoms["f"] == "https://x/invite/***" and atoms["{referer}i"] == "https://x/invite/***"
    assert "ABCD" not in repr(atoms)
    procfile = (Path(__file__).resolve().parents[2] / "Procfile").read_text(encoding="utf-8")
    assert "--logger-class gridapp.core.redact.GunicornLogger" in procfile


def test_the_app_filters_werkzeugs_request_log(app):
    assert any(isinstance(f, RedactingFilter) for f in logging.getLogger("werkzeug").filters)
