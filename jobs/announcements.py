"""Announcements whose time has come are published (each once, whichever of this sweep and the
author's own request comes first)."""
from gridapp.announcements.services import publish_due
from gridapp.extensions import db
from jobs import in_app_context, instant


@in_app_context
def publish_announcements(at: str | None = None) -> int:
    published = publish_due(instant(at))
    db.session.commit()
    return published
