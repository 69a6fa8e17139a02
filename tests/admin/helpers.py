"""Shared steps of the administration tests."""
from sqlalchemy import select

from gridapp.audit.models import AuditEvent
from gridapp.auth.models import User
from gridapp.extensions import db


def logged_in(make_client, username, lang="en", confirmed=True):
    """A client logged in as `username`, seeing the pages in English; `confirmed`: the password
    typed again too, as account and role changes ask for (tests/admin/test_reauth.py)."""
    c = make_client()
    c.post("/lang", {"lang": lang, "next": "/login"})
    c.login(username)
    if confirmed:
        c.confirm_password()
    return c


def fresh_user(username) -> User:
    """The row as the database has it now (requests run in their own sessions)."""
    db.session.expire_all()
    return db.session.scalars(select(User).where(User.username == username)).one()


def events(action=None):
    db.session.expire_all()
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return db.session.scalars(stmt).all()
