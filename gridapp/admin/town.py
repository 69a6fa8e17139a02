"""The first day of a real town: its row and its first administrator (`flask town init`).

A production database starts empty (`flask db upgrade` makes the tables, `seed-demo` refuses to
run there). init_town() creates the town and one account holding the admin role, whose password
passes the same rule as every other password (gridapp/auth/passwords.py: the town's name is
refused in it, so the town is written first). It refuses to run on a database that already has a
town or an account: there is exactly one first administrator, and a second run must not quietly
make another.
"""
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from gridapp.audit.services import record
from gridapp.auth import services as auth
from gridapp.auth.models import User
from gridapp.core.rules import Conflict, RuleError
from gridapp.extensions import db
from gridapp.grid.models import Town


class AlreadyInitialised(Conflict):
    """The database already has a town or an account."""


def check_zone(name: str) -> str:
    """The IANA zone name, or RuleError naming a close spelling."""
    name = (name or "").strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        near = sorted(z for z in available_timezones() if name and name.lower() in z.lower())[:3]
        hint = f" (did you mean {', '.join(near)}?)" if near else " (an IANA name such as Asia/Shanghai)"
        raise RuleError(f"unknown time zone {name!r}{hint}", "timezone") from None
    return name


def _lock() -> None:
    """Two `town init` at once: the second waits for the first, then finds a town and refuses.
    (SQLite's writes already queue behind one another.)"""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("LOCK TABLE towns, users IN SHARE ROW EXCLUSIVE MODE"))


def existing() -> tuple[int, int]:
    """(towns, accounts) already in the database."""
    return (db.session.scalar(select(func.count(Town.id))) or 0,
            db.session.scalar(select(func.count(User.id))) or 0)


def init_town(*, town_name: str, username: str, display_name: str, password: str,
              phone: str | None = None, email: str | None = None) -> tuple[Town, User]:
    """Create the town and its first administrator; the caller commits.

    Raises AlreadyInitialised on a database with a town or an account, RuleError(field=…) for a
    bad value, with the password rule's own message for a weak password."""
    town_name = (town_name or "").strip()
    username = (username or "").strip()
    display_name = (display_name or "").strip() or username
    if not town_name or len(town_name) > 100:
        raise RuleError("the town's name is required (at most 100 characters)", "town")
    if not username or len(username) > 64 or any(ch.isspace() for ch in username):
        raise RuleError("the administrator's username is required: up to 64 characters, no spaces", "username")
    _lock()
    towns, accounts = existing()
    if towns or accounts:
        raise AlreadyInitialised(
            f"this database is already set up ({towns} town(s), {accounts} account(s)); "
            "town init runs once, on an empty database. Further accounts are created by the "
            "administrator in the app (/admin/users).")
    try:
        with db.session.begin_nested():
            town = Town(name=town_name)
            db.session.add(town)
            db.session.flush()
            user = auth.create_user(None, username=username, display_name=display_name, password=password,
                                    phone=phone or None, email=email or None)
            auth.assign_role(None, user, "admin")
            db.session.flush()
    except auth.PasswordRejected as exc:
        raise RuleError(str(exc), "password") from None
    except IntegrityError:
        raise AlreadyInitialised("another `town init` has just created this town or account") from None
    record("town_initialised", town, actor=user, summary=f"first administrator {user.username}")
    return town, user
