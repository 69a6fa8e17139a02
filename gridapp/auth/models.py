"""People, the roles they hold on places, their server-side login sessions, and the invitations
that let a new account set its first password."""
from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gridapp.extensions import db
from gridapp.timeutil import UTCDateTime, utcnow

# role -> the kind of place or organisation it is held on (DOMAIN.md, "The grid").
ROLE_SCOPES = {
    "admin": "system",
    "town_leader": "town",
    "supervisor": "town",
    "secretary": "community",
    "grid_member": "grid",
    "building_head": "compound",
    "volunteer": "community",
    "property_manager": "property_company",
    "unit_contact": "work_unit",
}
ROLES = list(ROLE_SCOPES)
STAFF_ROLES = {"admin", "town_leader", "supervisor", "secretary", "grid_member", "building_head"}


def _password_set_now(context):
    """The default of password_changed_at: now for a new account inserted with a password, none without."""
    return utcnow() if context.get_current_parameters().get("password_hash") is not None else None


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    is_party_member: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # None: no password yet. The account cannot log in until its owner sets one through an
    # invitation (gridapp/auth/invitations.py) or an administrator resets it.
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    password_changed_at = mapped_column(UTCDateTime, default=_password_set_now, nullable=True)  # None: no password yet

    roles: Mapped[list["RoleAssignment"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin",
        order_by="RoleAssignment.id",
    )

    # Flask-Login: the id kept in the cookie is the server-side session token, so
    # that a session can be ended on the server (logout, password change, disabling).
    session_token = None  # set per request, never stored
    unread_at_load = None  # unread notices counted with the session at the start of the request
    session_reauthenticated_at = None  # when this session last typed the password again (read with it)

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self):
        return self.session_token

    def role_names(self) -> set[str]:
        return {r.role for r in self.roles}

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    def __repr__(self):
        return f"<User {self.username}>"


class RoleAssignment(db.Model):
    """One role held on one place or organisation (scope_type, scope_id)."""

    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("user_id", "role", "scope_type", "scope_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    scope_type: Mapped[str] = mapped_column(String(32))
    scope_id: Mapped[int] = mapped_column(Integer, default=0)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    user: Mapped[User] = relationship(back_populates="roles")


class LoginSession(db.Model):
    """A login, known to the server: the cookie carries a token whose hash is the key."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_seen_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    revoked_at = mapped_column(UTCDateTime, nullable=True)
    # When the password was last typed again in this session (gridapp/auth/reauth.py).
    reauthenticated_at = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship()


class Invitation(db.Model):
    """A one-time link that lets the owner of an account without a password set their own.

    The link carries a random token; only its sha256 is stored (like a LoginSession's). Its state
    follows from the times: pending until expires_at, unless used_at or revoked_at is set (a newer
    invitation for the same account revokes the older one)."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the token
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at = mapped_column(UTCDateTime, nullable=False)
    used_at = mapped_column(UTCDateTime, nullable=True)
    revoked_at = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    def state(self, now) -> str:
        """pending, used, revoked or expired, at `now`."""
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "pending"

    @property
    def audit_name(self) -> str:
        return self.user.username if self.user is not None else ""
