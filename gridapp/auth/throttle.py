"""Throttling password attempts: failures counted per account and per address (Flask-Limiter).

Two budgets of failed attempts, both in Flask-Limiter's storage (Redis, or its in-memory
fallback while Redis is unreachable); a successful login costs nothing:

- per account (LOGIN_LIMIT_PER_ACCOUNT): keyed by the account the typed username or phone
  belongs to, so that the username and the phone share one budget (an unknown name is keyed by
  its normalised text). Over it, the account is locked: 429 even for the right password.
- per address (LOGIN_LIMIT_PER_IP). Everyone behind one NAT (a town office, a reverse proxy
  without TRUSTED_PROXY_COUNT) shares an address, so an exhausted address must not lock out
  their correct logins. Over it, wrong passwords are answered 429 (and still count against
  their account), and a correct password is let in only for an account with no failed attempt
  in its current window. From such an address a guesser therefore learns the outcome of one
  guess per account per window instead of one per try of the account's budget, while someone
  who types their own password right gets in.

Invitation links (/invite/<token>) have a third budget per address, of links that name no
invitation: guessing a token of 120 bits is hopeless, and the limit keeps it so.
"""
import hashlib
import hmac

from flask import current_app, g, request
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from limits import parse

from gridapp.auth import invitations
from gridapp.auth.services import authenticate, find_login
from gridapp.extensions import db, limiter

ACCOUNT_SCOPE = "login-account"
ADDRESS_SCOPE = "login-ip"
INVITATION_SCOPE = "invitation-ip"


def normalised(identifier: str) -> str:
    """What was typed, as the limiter counts it: case and spaces do not make a new name."""
    return "".join((identifier or "").split()).lower()[:64]


def unknown_name_key(identifier: str) -> str:
    """The limiter's key for a name that belongs to no account: a keyed digest of the normalised
    text, so the same name is counted together but what was typed (perhaps a password typed in
    the wrong box) is never written into Redis."""
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), normalised(identifier).encode(), hashlib.sha256)
    return "name:" + digest.hexdigest()[:32]


def account_key_for(user_id: int) -> str:
    return f"user:{user_id}"


def typed_account_key() -> str:
    """The account the typed username or phone belongs to (looked up once per request)."""
    if "login_account_key" not in g:
        typed = request.form.get("username") or ""
        user = find_login(typed)
        g.login_account_key = account_key_for(user.id) if user is not None else unknown_name_key(typed)
    return g.login_account_key


def attempt(identifier: str, password: str):
    """The active user with these credentials, or None — checked (and audited) once per request,
    whether the address limit asked first or the view."""

    if "login_attempt" not in g:
        user = authenticate(identifier, password)
        g.login_attempt = user
        g.login_failed = user is None
    return g.login_attempt


def failed(response) -> bool:
    """deduct_when: only failed attempts count against the limits."""
    return bool(g.get("login_failed"))


def _config_limit(name: str):
    return parse(current_app.config[name])


def _remaining(name: str, key: str, scope: str) -> int:
    """How many failures the budget still allows (the fallback storage while Redis is away)."""
    item = _config_limit(name)
    stats = limiter.limiter.get_window_stats(item, current_app.config["RATELIMIT_KEY_PREFIX"], key, scope)
    return stats.remaining


def _correct_password_of_an_untouched_account() -> bool:
    """exempt_when of the address limit: asked for every login POST, it only matters (and only
    checks the password) once the address is over its limit."""
    if request.method != "POST" or _remaining("LOGIN_LIMIT_PER_IP", get_remote_address(), ADDRESS_SCOPE) > 0:
        return False
    identifier, password = request.form.get("username") or "", request.form.get("password") or ""
    if not identifier.strip() or not password or len(identifier) > 64 or len(password) > 256:
        return False
    if attempt(identifier, password) is None:
        return False
    limit = _config_limit("LOGIN_LIMIT_PER_ACCOUNT")
    return _remaining("LOGIN_LIMIT_PER_ACCOUNT", typed_account_key(), ACCOUNT_SCOPE) >= limit.amount


def _keep_audit(request_limit):
    """on_breach: a refused attempt whose password was checked keeps its audit record."""

    if g.get("login_failed"):
        db.session.commit()


ADDRESS_MESSAGE = _l("Too many failed logins from your network. For now only a correct password gets in, "
                     "and after a wrong one that account has to wait a few minutes.")


def per_account(view):
    return limiter.shared_limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], ACCOUNT_SCOPE,
                                key_func=typed_account_key, methods=["POST"], deduct_when=failed,
                                on_breach=_keep_audit)(view)


def per_address(view):
    return limiter.shared_limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], ADDRESS_SCOPE,
                                key_func=get_remote_address, methods=["POST"], deduct_when=failed,
                                exempt_when=_correct_password_of_an_untouched_account,
                                error_message=lambda: str(ADDRESS_MESSAGE), on_breach=_keep_audit)(view)


def _own_account_key() -> str:
    from flask_login import current_user

    return account_key_for(current_user.id)


def _anonymous() -> bool:
    """Limits run before login_required: someone logged out is sent to the login page, not counted."""
    from flask_login import current_user

    return not current_user.is_authenticated


def per_own_account(view):
    """The re-authentication page: a wrong password there counts like a failed login of the account."""
    return limiter.shared_limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], ACCOUNT_SCOPE,
                                key_func=_own_account_key, methods=["POST"], deduct_when=failed,
                                exempt_when=_anonymous, on_breach=_keep_audit)(view)


def invitation_of_request():
    """The invitation that the link of this request names, in whatever state, or None (looked up
    once per request, by the limit and by the view)."""
    if "invitation_of_request" not in g:
        g.invitation_of_request = invitations.find((request.view_args or {}).get("token"))
    return g.invitation_of_request


def _names_an_invitation() -> bool:
    return invitation_of_request() is not None


def per_address_invitations(view):
    """The invitation page: every link that names no invitation (a guess) counts against the
    address's LOGIN_LIMIT_PER_IP budget of its own; over it, such links are answered 429. A link
    that names one, however many guesses came from the same address (a town office), still opens."""
    return limiter.shared_limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], INVITATION_SCOPE,
                                key_func=get_remote_address, exempt_when=_names_an_invitation)(view)
