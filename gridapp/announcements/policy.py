"""Who publishes announcements and who reads them: the administrator and the town leader to the
whole town or any community, a secretary to her own community; each person of the audience reads
it, the author and the administrator see who has read it."""
from sqlalchemy import select

from gridapp.announcements.models import Announcement, AnnouncementRecipient
from gridapp.extensions import db

ACTIONS = {
    "publish_announcements": {"admin", "town_leader", "secretary"},
    "view_announcements": {"admin", "town_leader", "supervisor", "secretary", "grid_member", "building_head",
                           "volunteer", "property_manager", "unit_contact"},
}


def _rule(user, s, action, ann) -> bool:
    mine = ann.author_id == user.id
    if action == "view_reads":
        return mine or s.admin
    if action == "view":
        if mine or s.admin:
            return True
        return ann.published_at is not None and db.session.scalar(
            select(AnnouncementRecipient.user_id).where(AnnouncementRecipient.announcement_id == ann.id,
                                                        AnnouncementRecipient.user_id == user.id)) is not None
    return False


OBJECT_RULES = {Announcement: _rule}
