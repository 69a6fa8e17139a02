"""CSRF tokens that never repeat between responses (BREACH).

Flask-WTF's token is the session's secret, signed: its first part is the same bytes in every page of
a session. Pages are compressed (Flask-Compress), and a compressed page that reflects what a
request sent (a search box, a form shown again) next to a secret that repeats lets an attacker who
can send requests and watch sizes guess the secret byte by byte. So every token that goes into a
response is masked afresh, as mature frameworks do: a random pad as long as the token, and the token
XORed with it, both in one URL-safe string. A token that comes back is unmasked and then checked as
Flask-WTF checks it (signature, then the session's secret).

A token without a pad (it has the signature's dots; a page opened before masking) is still checked
as it is: it was never anything but valid.
"""
import base64
import binascii
import os

from flask import g
from flask_wtf.csrf import CSRFProtect, _FlaskFormCSRF, generate_csrf
from markupsafe import Markup


def mask(token: str) -> str:
    raw = token.encode("ascii")
    pad = os.urandom(len(raw))
    return base64.urlsafe_b64encode(pad + bytes(a ^ b for a, b in zip(raw, pad, strict=True))).decode().rstrip("=")


def unmask(value):
    """The signed token a masked value carries; anything else unchanged (it then fails the check)."""
    if not isinstance(value, str) or not value or "." in value:
        return value
    try:
        data = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return value
    if len(data) % 2:
        return value
    half = len(data) // 2
    return bytes(a ^ b for a, b in zip(data[half:], data[:half], strict=True)).decode("latin-1")


def csrf_token() -> str:
    """The response's token: masked once per request (a page carries it in several places; the
    same random string repeated within one response costs its bytes once after compression and
    gives nothing away), afresh in every response."""
    masked = g.get("_masked_csrf_token")
    if masked is None:
        masked = g._masked_csrf_token = mask(generate_csrf())
    return masked


def csrf_meta_tag() -> Markup:
    return Markup('<meta name="csrf-token" content="{}">').format(csrf_token())


class MaskedCSRFProtect(CSRFProtect):
    """Every state-changing request checked (Flask-WTF's CSRFProtect), with masked tokens."""

    def init_app(self, app):
        super().init_app(app)
        # Flask-WTF offers its token both ways; both are replaced (a later context processor wins).
        app.jinja_env.globals["csrf_token"] = csrf_token
        app.jinja_env.globals["csrf_meta_tag"] = csrf_meta_tag
        app.context_processor(lambda: {"csrf_token": csrf_token, "csrf_meta_tag": csrf_meta_tag})

    def _get_csrf_token(self):
        return unmask(super()._get_csrf_token())


class MaskedFormCSRF(_FlaskFormCSRF):
    """A form's hidden csrf_token field, masked; checked unmasked."""

    def generate_csrf_token(self, csrf_token_field):
        return csrf_token()

    def validate_csrf_token(self, form, field):
        sent = field.data
        field.data = unmask(sent)
        try:
            super().validate_csrf_token(form, field)
        finally:
            field.data = sent
