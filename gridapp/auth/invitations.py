"""Invitations: a one-time link with which the owner of an account without a password sets their own.

An account is created (or imported) without a password and gets an invitation: a random token of
24 characters of Crockford's base32 (120 bits), shown as six groups of four so that it can be typed
from paper, and kept only as its sha256 (like a login session's). The link works once, until
INVITATION_DAYS after it was made. A newer invitation for the same account revokes the older ones
(and withdraws their messages not sent yet); staff may revoke one; an administrator setting the
password or disabling the account ends them too (gridapp/auth/services.py).

Accepting is one conditional UPDATE (`… WHERE used_at IS NULL AND revoked_at IS NULL AND
expires_at > now`): of two people using the same link at once exactly one sets the password. Every
writer locks the account's row first (services.lock_account), so that an acceptance and a re-send
wait for each other. The token is never written to the audit trail or the log; the message that
carries the link is an outbox row of a secret kind, whose text is erased once sent.
"""
import hashlib
import re
import secrets
from datetime import timedelta

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from gridapp.audit.services import record
from gridapp.auth import keys, services
from gridapp.auth.models import Invitation, User
from gridapp.auth.passwords import check_password_rules
from gridapp.auth.policy import invitable_clause, member_of_clause
from gridapp.core.rules import Conflict, RuleError
from gridapp.extensions import db
from gridapp.notifications.kinds import EVERYONE, kind
from gridapp.notifications.services import deliveries_to_person, send_to_person
from gridapp.timeutil import to_local, utcnow

NOTICE_KINDS = (
    # To the owner of a new account, whatever roles it is given.
    kind("invitation", _l("Invitations to set a password"), channels=("email", "sms"), urgent=True, secret=True,
         roles=EVERYONE),
)

# Crockford's base32: no I, L, O or U, so that a token read from paper is typed right.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TOKEN_LENGTH = 24  # 120 bits
_TYPED_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-]+")


# --- the token --------------------------------------------------------------------------------------

def new_token() -> str:
    """A fresh token, as it is written in links: six groups of four characters."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(TOKEN_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, TOKEN_LENGTH, 4))


def normalised(text) -> str | None:
    """The token typed or scanned, as it is hashed (case, dashes, spaces, O/I/L read as 0/1 do not
    matter); None for anything that cannot be one."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    raw = _SEPARATORS.sub("", text).upper().translate(_TYPED_AS)
    if len(raw) != TOKEN_LENGTH or any(ch not in ALPHABET for ch in raw):
        return None
    return raw


def token_hash(token: str) -> str:
    return hashlib.sha256(normalised(token).encode()).hexdigest()


def find(token) -> Invitation | None:
    """The invitation of a token (in whatever state), or None."""
    raw = normalised(token)
    if raw is None:
        return None
    return db.session.scalars(select(Invitation).where(
        Invitation.token_hash == hashlib.sha256(raw.encode()).hexdigest())).first()


def link(token: str) -> str:
    """The whole address of the link (the host of the request, or SERVER_NAME outside one)."""
    return url_for("auth.invitation", token=token, _external=True)


def short_link(token: str) -> str:
    """The link without its scheme, as printed for typing."""
    return link(token).split("://", 1)[-1]


def lifetime() -> timedelta:
    return timedelta(days=current_app.config["INVITATION_DAYS"])


def pending(now):
    """The SQL condition of a pending invitation at `now` (Invitation.state's "pending")."""
    return (Invitation.used_at.is_(None) & Invitation.revoked_at.is_(None) & (Invitation.expires_at > now))


# --- refusals -------------------------------------------------------------------------------------

class InvitationClosed(RuleError):
    """The link cannot be used: unknown, revoked (or replaced), expired or used. 410 for the two a
    person is told about plainly (expired, used); 404 for the others, which look alike."""

    def __init__(self, invitation: Invitation | None, state: str):
        super().__init__(state, status=410 if state in ("expired", "used") else 404)
        self.invitation = invitation
        self.state = state


def _not_pending(invitation: Invitation, now) -> str:
    state = invitation.state(now)
    if state == "used":
        return _("This invitation was already used on %(time)s.", time=_local(invitation.used_at))
    if state == "revoked":
        return _("This invitation was already revoked.")
    return _("This invitation has expired already.")


def _local(moment) -> str:
    return to_local(moment).strftime("%Y-%m-%d %H:%M")


# --- issuing ----------------------------------------------------------------------------------------

def invite(actor: User | None, user: User, *, deliver: bool = True, printed_for: str | None = None,
           now=None) -> tuple[Invitation, str]:
    """A new invitation for an account without a password, revoking its earlier ones; with
    `deliver`, its link goes out by e-mail and SMS where the account has an address and the channel
    is switched on. Returns the invitation and its token (shown once, never stored). Audited (the
    token never). The caller commits."""
    now = now or utcnow()
    password_hash, active = services.lock_account(user)
    if password_hash is not None:
        raise Conflict(_("%(name)s has a password already: reset it instead of inviting.", name=user.display_name))
    if not active:
        raise Conflict(_("The account is disabled: enable it before sending an invitation."))
    services.revoke_pending_invitations(user, now)
    token = new_token()
    invitation = Invitation(user=user, created_by=actor, token_hash=token_hash(token), created_at=now,
                            expires_at=now + lifetime())
    db.session.add(invitation)
    db.session.flush()
    channels = send_link(invitation, token, now) if deliver else []
    how = (f"printed on the sheet of {printed_for}" if printed_for
           else f"sent by {', '.join(channels)}" if channels else "link shown only")
    record("invitation_created", user, actor=actor,
           summary=f"invitation #{invitation.id} until {_local(invitation.expires_at)}; {how}")
    return invitation, token


def send_link(invitation: Invitation, token: str, now=None) -> list[str]:
    """Send the link to the account's e-mail and phone (the channels switched on), in the town's
    language; returns the channels."""
    user = invitation.user
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        subject = _("Your account on the town grid")
        body = _("%(name)s, an account on the town grid is ready for you (username: %(username)s). Choose your "
                 "password with this link before %(expires)s: %(link)s — it works once. If you did not expect "
                 "this message, ignore it.", name=user.display_name, username=user.username,
                 expires=_local(invitation.expires_at), link=link(token))
    return send_to_person(user, "invitation", subject, body, dedupe_key=keys.invitation(invitation.id), now=now)


def revoke(actor: User, invitation: Invitation, now=None) -> None:
    """Stop a pending invitation from working (and its messages not sent yet from going out).
    Conflict if it is no longer pending. The caller commits."""
    now = now or utcnow()
    services.lock_account(invitation.user)
    done = db.session.execute(update(Invitation).where(Invitation.id == invitation.id, pending(now))
                              .values(revoked_at=now).execution_options(synchronize_session=False)).rowcount
    db.session.refresh(invitation)
    if done != 1:
        raise Conflict(_not_pending(invitation, now))
    services.withdraw_from_person(keys.invitation(invitation.id), invitation.user_id)
    record("invitation_revoked", invitation.user, actor=actor, summary=f"invitation #{invitation.id}")


# --- accepting ------------------------------------------------------------------------------------------

def usable(token, now=None) -> Invitation:
    """The invitation of a token that may still be accepted, or InvitationClosed saying why not."""
    now = now or utcnow()
    invitation = find(token)
    if invitation is None:
        raise InvitationClosed(None, "unknown")
    state = invitation.state(now)
    if state != "pending":
        raise InvitationClosed(invitation, state)
    if not invitation.user.active or invitation.user.password_hash is not None:
        # Disabling the account or resetting its password revokes its invitations; this is only
        # the moment in between.
        raise InvitationClosed(invitation, "revoked")
    return invitation


def accept(token, password: str, now=None) -> User:
    """Set the account's first password from the link: checked by the password rule (PasswordRejected
    at the new_password field), then one conditional UPDATE decides whether the link is still good
    (InvitationClosed if not). Ends any session of the account; audited. Returns the account; the
    caller commits (and may then log the person in)."""
    now = now or utcnow()
    invitation = usable(token, now)
    user = invitation.user
    check_password_rules(password, user)
    password_hash = services.hash_password(password)  # before the locks: hashing takes a while
    services.lock_account(user)
    won = db.session.execute(update(Invitation).where(Invitation.id == invitation.id, pending(now))
                             .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    if won != 1:  # someone else used it, or it was revoked, since the look above
        db.session.refresh(invitation)
        state = invitation.state(now)
        raise InvitationClosed(invitation, "revoked" if state == "pending" else state)
    was_set = db.session.execute(
        update(User).where(User.id == user.id, User.password_hash.is_(None), User.active.is_(True))
        .values(password_hash=password_hash, password_changed_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if was_set != 1:  # a password reset or disabling committed between the look and the lock
        raise InvitationClosed(invitation, "revoked")
    db.session.expire(user, ["password_hash", "password_changed_at"])
    db.session.expire(invitation, ["used_at"])
    services.end_other_sessions(user)
    services.withdraw_from_person(keys.invitation(invitation.id), user.id)
    record("invitation_accepted", user, actor=user, summary=f"invitation #{invitation.id}")
    return user


# --- what staff see ---------------------------------------------------------------------------------

def latest_invitations(user_ids) -> dict[int, Invitation]:
    """The newest invitation of each of these accounts (one statement; none without accounts)."""
    user_ids = list(user_ids)
    if not user_ids:
        return {}
    newest = (select(Invitation.user_id, db.func.max(Invitation.id).label("id"))
              .where(Invitation.user_id.in_(user_ids)).group_by(Invitation.user_id).subquery())
    rows = db.session.scalars(select(Invitation).join(newest, newest.c.id == Invitation.id))
    return {inv.user_id: inv for inv in rows}


def deliveries(invitation: Invitation) -> dict:
    """{channel: outbox row} of the message that carried this invitation's link."""
    return deliveries_to_person(keys.invitation(invitation.id), invitation.user_id)


def awaiting_password(actor: User, community_id: int):
    """The active accounts without a password that `actor` may invite and that hold a role within
    this community (a select, by username)."""
    return (select(User).where(User.active.is_(True), User.password_hash.is_(None), invitable_clause(actor),
                               member_of_clause(community_id))
            .order_by(User.username, User.id))


def issue_sheet(actor: User, community, now=None) -> list[tuple[User, Invitation, str]]:
    """Fresh invitations, not sent, for every account of the community still without a password
    (earlier links of these people stop working): what the printable sheet shows. The caller commits."""
    now = now or utcnow()
    issued = []
    for user in db.session.scalars(awaiting_password(actor, community.id)).all():
        invitation, token = invite(actor, user, deliver=False, printed_for=community.name, now=now)
        issued.append((user, invitation, token))
    return issued
