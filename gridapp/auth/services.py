"""Accounts: passwords (the rule is gridapp/auth/passwords.py) and hashing, authentication,
server-side sessions, roles and who holds them on a place.

An account may have no password yet (password_hash None): it was created or imported to be
claimed through an invitation (gridapp/auth/invitations.py). It cannot log in: logging in
refuses it exactly as a wrong password, in the same time."""
import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import Select, bindparam, func, or_, select, update
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from gridapp.audit.services import client_ip, record
from gridapp.auth import keys
from gridapp.auth.models import ROLE_SCOPES, Invitation, LoginSession, RoleAssignment, User
from gridapp.auth.passwords import PasswordRejected, check_password_rules
from gridapp.extensions import db
from gridapp.notifications.models import Notification
from gridapp.notifications.services import withdraw_from_person
from gridapp.timeutil import utcnow

# A hash to compare against when the account does not exist, so that the time taken
# does not tell whether a username is registered.
_DUMMY_HASH = None


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(12))
    return _DUMMY_HASH


def password_matches(user: User, password: str) -> bool:
    """Whether this is the account's password. An account without one matches nothing, after
    the same work as a real comparison, so that the time taken does not tell it apart."""
    if user.password_hash is None:
        check_password_hash(_dummy_hash(), password or "")
        return False
    return check_password_hash(user.password_hash, password or "")


def set_password(user: User, password: str, check: bool = True) -> None:
    if check:
        check_password_rules(password, user)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()


def find_login(identifier: str) -> User | None:
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    return db.session.scalars(
        select(User).where(or_(func.lower(User.username) == identifier.lower(), User.phone == identifier))
    ).first()


def authenticate(identifier: str, password: str) -> User | None:
    """The active user with these credentials, or None. Audits failures."""
    user = find_login(identifier)
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        # Not what was typed: it may be a password typed in the wrong box (PIPL: nothing kept that
        # the work does not need).
        record("login_failed", None, object_name="", summary="unknown account")
        return None
    if not password_matches(user, password):
        record("login_failed", user, actor=user,
               summary="wrong password" if user.password_hash is not None else "no password yet")
        return None
    if not user.active:
        record("login_failed", user, actor=user, summary="account disabled")
        return None
    return user


def _token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, user_agent: str = "") -> str:
    """Create a server-side session for the user; return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(id=_token_key(token), user_id=user.id, ip=client_ip(),
                                user_agent=(user_agent or "")[:255]))
    user.session_token = token
    record("login", user, actor=user)
    return token


_UNREAD = (select(func.count(Notification.id))
           .where(Notification.user_id == User.id, Notification.read_at.is_(None))
           .correlate(User).scalar_subquery())
# One statement for the session, its user, the user's roles and the unread notices (every page needs
# all four: the layout shows the unread badge). Built once: every request runs it, and building it
# (the select, the join, the eager load) cost as much as running it.
_SESSION = (select(User, LoginSession.revoked_at, LoginSession.last_seen_at, LoginSession.created_at,
                   LoginSession.reauthenticated_at, _UNREAD)
            .join(LoginSession, LoginSession.user_id == User.id)
            .where(LoginSession.id == bindparam("key"))
            .options(joinedload(User.roles)))


def load_session(token: str) -> User | None:
    """The user of a live session token, or None (revoked, expired, disabled)."""
    if not token or len(token) > 128:
        return None
    key = _token_key(token)
    row = db.session.execute(_SESSION, {"key": key}).unique().first()
    if row is None:
        return None
    user, revoked_at, last_seen_at, created_at, reauthenticated_at, unread = row
    if revoked_at is not None:
        return None
    now = utcnow()
    if now - last_seen_at > timedelta(days=current_app.config["SESSION_IDLE_DAYS"]):
        return None
    if now - created_at > timedelta(hours=current_app.config["SESSION_ABSOLUTE_HOURS"]):
        return None
    if not user.active:
        return None
    # Touch at most every few minutes: a write per request would serialise SQLite.
    if now - last_seen_at > timedelta(minutes=5):
        db.session.execute(update(LoginSession).where(LoginSession.id == key).values(last_seen_at=now)
                           .execution_options(synchronize_session=False))
        db.session.commit()
    user.session_token = token
    user.unread_at_load = unread  # the layout's badge; marking read in this request clears it
    user.session_reauthenticated_at = reauthenticated_at
    return user


def end_session(token: str) -> None:
    if token:
        db.session.execute(
            update(LoginSession).where(LoginSession.id == _token_key(token), LoginSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )


def end_other_sessions(user: User, keep_token: str | None = None) -> int:
    stmt = update(LoginSession).where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
    if keep_token:
        stmt = stmt.where(LoginSession.id != _token_key(keep_token))
    return db.session.execute(stmt.values(revoked_at=utcnow())).rowcount


def change_own_password(user: User, current: str, new: str) -> None:
    from flask_babel import gettext as _

    if not password_matches(user, current):
        raise PasswordRejected(_("The current password is wrong."), field="current_password")
    set_password(user, new)
    end_other_sessions(user, keep_token=user.session_token)
    record("password_changed", user, actor=user)


def reset_password(admin: User, user: User, new: str) -> None:
    """An administrator sets the password; the account's sessions end, and so do its pending
    invitations (it has a password now)."""
    set_password(user, new)
    end_other_sessions(user)
    revoke_pending_invitations(user)
    record("password_reset", user, actor=admin)


def set_active(admin: User, user: User, active: bool) -> None:
    """Disabling ends the account's sessions and its pending invitations."""
    user.active = active
    if not active:
        end_other_sessions(user)
        revoke_pending_invitations(user)
    record("user_enabled" if active else "user_disabled", user, actor=admin)


def lock_account(user: User) -> tuple[str | None, bool]:
    """Lock the account's row for the rest of the transaction (PostgreSQL; SQLite's BEGIN
    IMMEDIATE already serialises writers) and read its password hash and active flag as committed.
    Every writer of an account's invitations locks the account first, so that two of them
    (a re-send and an acceptance) wait for each other instead of deadlocking."""
    return tuple(db.session.execute(select(User.password_hash, User.active).where(User.id == user.id)
                                    .with_for_update()).one())


def revoke_pending_invitations(user: User, now=None) -> list[int]:
    """End the account's invitations that are neither used nor revoked (expired ones too: they
    are over either way), and withdraw their messages not sent yet. Returns their ids."""
    now = now or utcnow()
    ids = list(db.session.scalars(
        update(Invitation).where(Invitation.user_id == user.id, Invitation.used_at.is_(None),
                                 Invitation.revoked_at.is_(None))
        .values(revoked_at=now).returning(Invitation.id).execution_options(synchronize_session=False)))
    for invitation_id in ids:
        withdraw_from_person(keys.invitation(invitation_id), user.id)
    return ids


def assign_role(admin: User | None, user: User, role: str, scope_id: int = 0) -> RoleAssignment:
    if role not in ROLE_SCOPES:
        raise ValueError(f"unknown role {role}")
    scope_type = ROLE_SCOPES[role]
    if scope_type == "system":
        scope_id = 0
    existing = db.session.scalars(select(RoleAssignment).where(
        RoleAssignment.user_id == user.id, RoleAssignment.role == role,
        RoleAssignment.scope_type == scope_type, RoleAssignment.scope_id == scope_id)).first()
    if existing:
        return existing
    ra = RoleAssignment(user=user, role=role, scope_type=scope_type, scope_id=scope_id)
    db.session.add(ra)
    if admin is not None:
        record("role_assigned", user, actor=admin, summary=f"{role} on {scope_type}#{scope_id}")
    return ra


def remove_role(admin: User, ra: RoleAssignment) -> None:
    record("role_removed", ra.user, actor=admin, summary=f"{ra.role} on {ra.scope_type}#{ra.scope_id}")
    db.session.delete(ra)


def purge_sessions(now=None) -> int:
    """Delete sessions revoked, idle beyond the limit or older than the absolute one; returns how many."""
    now = now or utcnow()
    cutoff = now - timedelta(days=current_app.config["SESSION_IDLE_DAYS"])
    born_before = now - timedelta(hours=current_app.config["SESSION_ABSOLUTE_HOURS"])
    result = db.session.execute(
        LoginSession.__table__.delete().where(
            or_(LoginSession.revoked_at.is_not(None), LoginSession.last_seen_at < cutoff,
                LoginSession.created_at < born_before)
        )
    )
    return result.rowcount


def create_user(admin: User | None, *, username: str, display_name: str, password: str | None = None,
                phone: str | None = None, email: str | None = None, is_party_member: bool = False,
                check_password: bool = True) -> User:
    """A new account, without a password unless one is given (its owner sets it through an
    invitation); the caller commits. Raises PasswordRejected for a weak password."""
    user = User(username=username.strip(), display_name=display_name.strip(), phone=phone or None,
                email=email or None, is_party_member=is_party_member, active=True)
    if password is not None:
        set_password(user, password, check=check_password)
    db.session.add(user)
    db.session.flush()
    if admin is not None:
        record("user_created", user, actor=admin)
    return user


def confirm_password(user: User, password: str) -> bool:
    """Re-authentication: the password typed again in this session. On success the session
    remembers when (see gridapp/auth/reauth.py); both outcomes are audited. The caller commits."""
    if not password_matches(user, password):
        record("reauth_failed", user, actor=user)
        return False
    now = utcnow()
    db.session.execute(update(LoginSession).where(LoginSession.id == _token_key(user.session_token or ""))
                       .values(reauthenticated_at=now).execution_options(synchronize_session=False))
    user.session_reauthenticated_at = now
    record("reauthenticated", user, actor=user)
    return True


# --- who holds a role on a place ------------------------------------------------------------------

def _on(role: str, scope_ids):
    """The role assignments of `role` on these places (ids, or a SELECT of them)."""
    if not isinstance(scope_ids, Select):
        scope_ids = set(scope_ids)
    return (RoleAssignment.role == role) & RoleAssignment.scope_id.in_(scope_ids)


def holders(role: str, scope_ids) -> dict[int, list[User]]:
    """The active people holding `role` on each of these places: {place id: [users by id]}, a place
    nobody holds left out. One statement (none without places)."""
    out: dict[int, list[User]] = {}
    if scope_ids:
        # Their roles joined in the same statement: selectin loading would add one per 500 people,
        # and a county has more grid members than that.
        for scope_id, user in db.session.execute(
                select(RoleAssignment.scope_id, User).join(User, User.id == RoleAssignment.user_id)
                .where(_on(role, scope_ids), User.active.is_(True)).order_by(User.id)
                .options(joinedload(User.roles))).unique():
            out.setdefault(scope_id, []).append(user)
    return out


def holder(role: str, scope_id: int | None) -> User | None:
    """The (first, by id) active person holding `role` on this place; None for no place. One statement."""
    if scope_id is None:
        return None
    return db.session.scalars(
        select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(_on(role, [scope_id]), User.active.is_(True)).order_by(User.id).limit(1)).first()


def people_holding(grants: dict) -> list[User]:
    """The active people holding any of these roles on its places ({role: place ids, or a SELECT of
    them}), each once, by id. One statement (none without places)."""
    conds = [_on(role, ids) for role, ids in grants.items() if isinstance(ids, Select) or ids]
    if not conds:
        return []
    return list(db.session.scalars(
        select(User).where(User.active.is_(True), User.id.in_(select(RoleAssignment.user_id).where(or_(*conds))))
        .order_by(User.id)))


def town_leaders() -> list[User]:
    """The active town leaders, by id. One statement."""
    return list(db.session.scalars(select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
                                   .where(RoleAssignment.role == "town_leader", User.active.is_(True))
                                   .order_by(User.id)))
