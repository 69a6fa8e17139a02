"""Secrets that travel in a URL kept out of the logs: an invitation's token (/invite/<token>) and a
calendar feed's (/duty/feed/<token>.ics).

gunicorn's access log (the Procfile names GunicornLogger) and Werkzeug's development server
(create_app adds the filter) write every request line and Referer; both go through redact().
gridapp's own log never writes a request's address (gridapp/core/errors.py)."""
import logging
import re

from gunicorn import glogging

_SECRET_IN_PATH = re.compile(r"(/invite/|/duty/feed/|/observation/self/)[^/?#\s\"']+")


def redact(text):
    """The text with every secret of a URL path replaced by ***; anything not text as it is."""
    return _SECRET_IN_PATH.sub(r"\1***", text) if isinstance(text, str) else text


class RedactingFilter(logging.Filter):
    """Redacts the message and its arguments of every record of the logger it is added to."""

    def filter(self, record):
        record.msg = redact(record.msg)
        if isinstance(record.args, dict):
            record.args = {k: redact(v) for k, v in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(redact(v) for v in record.args)
        return True


def init_app(app) -> None:
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactingFilter) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(RedactingFilter())


class GunicornLogger(glogging.Logger):
    """gunicorn's logger with the access log's fields (request line, path, Referer, headers) redacted."""

    def atoms(self, resp, req, environ, request_time):
        return {k: redact(v) for k, v in super().atoms(resp, req, environ, request_time).items()}
