"""Administration rules: account edits, role assignments on places, the audit trail's queries."""
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from gridapp.audit.models import AuditEvent
from gridapp.audit.services import describe_changes, record, search_events, snapshot
from gridapp.auth import invitations
from gridapp.auth import services as auth
from gridapp.auth.models import ROLE_SCOPES, Invitation, RoleAssignment, User
from gridapp.core.params import parse_id
from gridapp.core.rules import RuleError
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid, PropertyCompany, Town, WorkUnit
from gridapp.grid.services import SCOPE_MODELS
from gridapp.policy import invite_community_clause
from gridapp.timeutil import town_zone

USER_FIELDS = ("display_name", "phone", "email", "is_party_member")
# An account's personal data: audit summaries say that it changed, never what it was or became.
USER_PERSONAL = frozenset({"phone", "email"})


# --- accounts ------------------------------------------------------------------------------------

def search_users(q: str = "", role: str = ""):
    """Accounts matching a search over username, display name and phone (a select for db.paginate)."""
    stmt = select(User).order_by(User.username, User.id)
    if q:
        stmt = stmt.where(or_(User.username.icontains(q, autoescape=True),
                              User.display_name.icontains(q, autoescape=True),
                              User.phone.icontains(q, autoescape=True)))
    if role:
        stmt = stmt.where(User.roles.any(RoleAssignment.role == role))
    return stmt


def _check_unique(user: User | None, username: str | None, phone: str | None) -> None:
    """Friendly messages for taken names; the unique constraints still decide under concurrency.

    Logging in accepts a username or a phone number, so neither may equal the other's either.
    """
    others = [] if user is None else [User.id != user.id]
    if username:
        taken = select(User.id).where(*others, or_(func.lower(User.username) == username.lower(),
                                                   User.phone == username))
        if db.session.scalar(taken.limit(1)) is not None:
            raise RuleError(_("This username is already taken."), "username")
    if phone:
        taken = select(User.id).where(*others, or_(User.phone == phone, func.lower(User.username) == phone.lower()))
        if db.session.scalar(taken.limit(1)) is not None:
            raise RuleError(_("This phone number belongs to another account."), "phone")


def _duplicate_error() -> RuleError:
    # Lost a race against another request creating the same username or phone.
    return RuleError(_("This username or phone number is already taken."), "username")


def create_account(admin: User, values: dict) -> tuple[User, Invitation, str]:
    """A new account without a password, and its invitation (sent by e-mail and SMS where it has
    an address and the channel is on); both audited. Returns the account, the invitation and its
    token (to show once). The caller commits."""
    _check_unique(None, values["username"], values["phone"])
    try:
        with db.session.begin_nested():
            user = auth.create_user(
                admin, username=values["username"], display_name=values["display_name"],
                phone=values["phone"] or None, email=values["email"] or None,
                is_party_member=bool(values["is_party_member"]))
    except IntegrityError:
        raise _duplicate_error() from None
    invitation, token = invitations.invite(admin, user)
    return user, invitation, token


def update_account(admin: User, user: User, values: dict) -> User:
    """Edit the account's details, audited without the personal values; the caller commits."""
    values = {f: values[f] for f in USER_FIELDS}
    values["phone"] = values["phone"] or None
    values["email"] = values["email"] or None
    values["is_party_member"] = bool(values["is_party_member"])
    _check_unique(user, None, values["phone"])
    before = snapshot(user, USER_FIELDS)
    try:
        with db.session.begin_nested():
            for f in USER_FIELDS:
                setattr(user, f, values[f])
            db.session.flush()
    except IntegrityError:
        db.session.expire(user)
        raise RuleError(_("This phone number belongs to another account."), "phone") from None
    summary = describe_changes(before, snapshot(user, USER_FIELDS), personal=USER_PERSONAL)
    if summary:
        record("user_updated", user, actor=admin, summary=summary)
    return user


def reset_password(admin: User, user: User, password: str) -> None:
    """Set a new password and end every session of the user; the caller commits."""
    if user.id == admin.id:
        raise RuleError(_("Change your own password on your profile page."), "new_password")
    try:
        auth.reset_password(admin, user, password)
    except auth.PasswordRejected as exc:
        raise RuleError(str(exc), "new_password") from None


def set_active(admin: User, user: User, active: bool) -> None:
    """Enable or disable the account (disabling ends its sessions); the caller commits."""
    if not active and user.id == admin.id:
        raise RuleError(_("You cannot disable your own account."), "active")
    if bool(user.active) != active:
        auth.set_active(admin, user, active)


# --- invitations ---------------------------------------------------------------------------------

def invitation_communities(user: User) -> list[Community]:
    """The communities whose accounts' invitations this user handles, by id (one statement)."""
    return list(db.session.scalars(select(Community).where(invite_community_clause(user)).order_by(Community.id)))


# --- roles on places -----------------------------------------------------------------------------

def scope_choices() -> list:
    """The places a role can be held on, as (group label, [("scope_type:id", label)]) for <optgroup>s.

    One query per kind of place, whatever the size of the town.
    """
    groups = []
    towns = db.session.execute(select(Town.id, Town.name).order_by(Town.id)).all()
    groups.append((_("Town"), [(f"town:{i}", n) for i, n in towns]))
    communities = db.session.execute(select(Community.id, Community.name).order_by(Community.id)).all()
    groups.append((_("Communities"), [(f"community:{i}", n) for i, n in communities]))
    grids = db.session.execute(
        select(Grid.id, Community.name, Grid.name).join(Community, Community.id == Grid.community_id)
        .order_by(Community.id, Grid.id)).all()
    groups.append((_("Grids"), [(f"grid:{i}", f"{c} / {n}") for i, c, n in grids]))
    compounds = db.session.execute(
        select(Compound.id, Grid.name, Compound.name).join(Grid, Grid.id == Compound.grid_id)
        .order_by(Grid.community_id, Grid.id, Compound.id)).all()
    groups.append((_("Compounds"), [(f"compound:{i}", f"{g} / {n}") for i, g, n in compounds]))
    companies = db.session.execute(select(PropertyCompany.id, PropertyCompany.name)
                                   .order_by(PropertyCompany.name)).all()
    groups.append((_("Property companies"), [(f"property_company:{i}", n) for i, n in companies]))
    units = db.session.execute(select(WorkUnit.id, WorkUnit.name).order_by(WorkUnit.name)).all()
    groups.append((_("Work units"), [(f"work_unit:{i}", n) for i, n in units]))
    return [(label, options) for label, options in groups if options]


def parse_scope(value: str) -> tuple[str, int]:
    """'community:3' → ('community', 3); RuleError for anything else."""
    kind, sep, raw_id = (value or "").strip().partition(":")
    scope_id = parse_id(raw_id) if raw_id.isdigit() else None
    if not sep or kind not in SCOPE_MODELS or scope_id is None:
        raise RuleError(_("Choose a place from the list."), "scope")
    return kind, scope_id


def assign(admin: User, user: User, role: str, scope_value: str) -> RoleAssignment | None:
    """Give the user the role on the chosen place; None if they hold it already. The caller commits."""
    if role not in ROLE_SCOPES:
        raise RuleError(_("Choose a role from the list."), "role")
    wanted = ROLE_SCOPES[role]
    if wanted == "system":
        scope_id = 0  # held on the whole system; a place chosen alongside is irrelevant
    else:
        kind, scope_id = parse_scope(scope_value)
        if kind != wanted:
            raise RuleError(_("This role is held on a place of another kind: %(kind)s.",
                              kind=scope_kind_label(wanted)), "scope")
        if db.session.get(SCOPE_MODELS[kind], scope_id) is None:
            raise RuleError(_("Choose a place from the list."), "scope")
    held = db.session.scalar(select(RoleAssignment.id).where(
        RoleAssignment.user_id == user.id, RoleAssignment.role == role,
        RoleAssignment.scope_type == wanted, RoleAssignment.scope_id == scope_id))
    if held is not None:
        return None
    try:
        with db.session.begin_nested():
            ra = auth.assign_role(admin, user, role, scope_id)
            db.session.flush()
    except IntegrityError:  # the same assignment made at the same moment by another request
        db.session.expire(user)
        return None
    return ra


def remove(admin: User, ra: RoleAssignment) -> None:
    """Take a role away (audited); an admin keeps their own admin role. The caller commits."""
    if ra.user_id == admin.id and ra.role == "admin":
        raise RuleError(_("You cannot remove your own administrator role."), "role")
    auth.remove_role(admin, ra)


def scope_kind_label(scope_type: str) -> str:
    return {
        "system": _("the whole system"),
        "town": _("the town"),
        "community": _("a community"),
        "grid": _("a grid"),
        "compound": _("a compound"),
        "property_company": _("a property company"),
        "work_unit": _("a work unit"),
    }[scope_type]


# --- the audit trail -----------------------------------------------------------------------------

def _town_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=town_zone())


def audit_events(actor: str = "", action: str = "", object_type: str = "",
                 date_from: date | None = None, date_to: date | None = None):
    """The filtered trail, newest first; the dates are days in the town's zone, both included."""
    stmt = search_events(actor=actor, action=action, object_type=object_type)
    if date_from is not None:
        stmt = stmt.where(AuditEvent.created_at >= _town_midnight_utc(date_from))
    if date_to is not None:
        stmt = stmt.where(AuditEvent.created_at < _town_midnight_utc(date_to + timedelta(days=1)))
    return stmt


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


def audit_object_types() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.object_type).distinct()
                                   .where(AuditEvent.object_type != "").order_by(AuditEvent.object_type)))
