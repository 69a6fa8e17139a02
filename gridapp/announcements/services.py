"""The rules of announcements: who may address whom, publishing now or at a set time (once, by a
conditional UPDATE, whichever of the author's request or the minute sweep comes first), the
audience resolved at publication, reading, and the author's read count."""
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from gridapp.announcements.models import Announcement, AnnouncementRecipient
from gridapp.audit.services import record
from gridapp.auth.models import RoleAssignment, User
from gridapp.auth.services import people_holding
from gridapp.core.rules import RuleError
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid
from gridapp.notifications.group import GroupText, Published
from gridapp.notifications.kinds import kind
from gridapp.notifications.models import Notification
from gridapp.notifications.services import notify
from gridapp.policy import scope_of
from gridapp.timeutil import utcnow

NOTICE_KINDS = (kind("announcement", _l("Announcements (通知公告)"), channels=("email",),
                     roles={"secretary", "grid_member", "building_head", "volunteer", "property_manager",
                            "unit_contact", "town_leader", "supervisor"}),)

# The roles an announcement may address, in the order the form lists them. The town-wide roles
# hear only announcements to the whole town.
AUDIENCE_ROLES = ("secretary", "grid_member", "building_head", "volunteer", "property_manager", "unit_contact",
                  "town_leader", "supervisor")
TOWN_ROLES = ("town_leader", "supervisor")
TOWN = "town"
MAX_AHEAD = timedelta(days=30)
# What group robots hear of an announcement: its title, which the form tells the author is posted
# to the group chats, and its link. The text stays on the site, for its audience.
GROUP_LINE = _l("Announcement: %(title)s")


def _community_key(community_id: int) -> str:
    return f"community:{community_id}"


def place_choices(user) -> list[tuple[str, str]]:
    """The places this person may address: the town (administrator, town leader) and communities."""
    s = scope_of(user)
    whole = s.admin or "town_leader" in s.roles
    stmt = select(Community.id, Community.name).order_by(Community.id)
    if not whole:
        stmt = stmt.where(Community.id.in_(s.communities or [-1]))
    choices = [(TOWN, _("The whole town"))] if whole else []
    return choices + [(_community_key(cid), name) for cid, name in db.session.execute(stmt)]


def _audience(roles: list[str], places: list[str]) -> list[User]:
    """The active people holding these roles in these places (one statement)."""
    if TOWN in places:
        return list(db.session.scalars(
            select(User).where(User.active.is_(True), User.id.in_(
                select(RoleAssignment.user_id).where(RoleAssignment.role.in_(roles)))).order_by(User.id)))
    communities = [int(p.split(":", 1)[1]) for p in places if p.startswith("community:")]
    grids = select(Grid.id).where(Grid.community_id.in_(communities))
    compounds = select(Compound).join(Grid, Grid.id == Compound.grid_id).where(Grid.community_id.in_(communities))
    grants = {
        "secretary": communities,
        "volunteer": communities,
        "grid_member": grids,
        "building_head": compounds.with_only_columns(Compound.id),
        "property_manager": compounds.with_only_columns(Compound.property_company_id),
        "unit_contact": compounds.with_only_columns(Compound.work_unit_id),
    }
    return people_holding({role: ids for role, ids in grants.items() if role in roles})


def create(actor, values: dict, image: str | None = None, now: datetime | None = None) -> Announcement:
    """Write an announcement; published at once unless `publish_at` lies ahead."""
    now = now or utcnow()
    title, body = (values.get("title") or "").strip(), (values.get("body") or "").strip()
    roles = [r for r in AUDIENCE_ROLES if r in (values.get("roles") or [])]
    allowed = {value for value, _label in place_choices(actor)}
    places = [p for p in values.get("places") or [] if p]
    if not roles:
        raise RuleError(_("Choose who hears it."), "roles")
    if not places:
        raise RuleError(_("Choose the places it goes to."), "places")
    if set(places) - allowed:
        raise RuleError(_("You may not address that place."), "places")
    if TOWN in places:
        places = [TOWN]
    elif set(roles) <= set(TOWN_ROLES):
        raise RuleError(_("The town leader and the supervisors hear only announcements to the whole town."), "roles")
    publish_at = values.get("publish_at") or now
    if publish_at < now - timedelta(minutes=1):
        raise RuleError(_("Choose a time that has not passed, or leave it empty to publish now."), "publish_at")
    if publish_at > now + MAX_AHEAD:
        raise RuleError(_("At most 30 days ahead."), "publish_at")
    ann = Announcement(title=title, body=body, image=image, roles=",".join(roles), places=",".join(places),
                       author_id=actor.id, created_at=now, publish_at=max(publish_at, now))
    db.session.add(ann)
    db.session.flush()
    record("announcement_created", ann, ann.title, actor=actor)
    if ann.publish_at <= now:
        publish(ann.id, now)
    return ann


def _insert_recipients():
    dialect = db.session.get_bind().dialect.name
    return ((postgresql.insert if dialect == "postgresql" else sqlite.insert)(AnnouncementRecipient)
            .on_conflict_do_nothing(index_elements=["announcement_id", "user_id"]))


def publish(announcement_id: int, now: datetime | None = None) -> int | None:
    """Publish it if it is due and not yet published (one conditional UPDATE: the author's request
    and the sweep never both publish): its audience, their inboxes and e-mail, and the group robots
    of its places. Returns the audience's size; None if it was not due or someone else published it."""
    now = now or utcnow()
    won = db.session.execute(
        update(Announcement).where(Announcement.id == announcement_id, Announcement.published_at.is_(None),
                                   Announcement.publish_at <= now)
        .values(published_at=now).execution_options(synchronize_session=False)).rowcount
    if won != 1:
        return None
    ann = db.session.get(Announcement, announcement_id)
    db.session.refresh(ann)
    people = _audience(ann.role_list, ann.place_list)
    if people:
        db.session.execute(_insert_recipients(), [{"announcement_id": ann.id, "user_id": u.id} for u in people])
    ann.audience_size = len(people)
    if TOWN in ann.place_list:
        places = list(db.session.scalars(select(Community)))
    else:
        places = list(db.session.scalars(select(Community).where(Community.id.in_(
            [int(p.split(":", 1)[1]) for p in ann.place_list]))))
    notify(people, "announcement", ann.title, ann.body, dedupe_key=announcement_key(ann.id),
           link=f"/announcements/{ann.id}", places=places, now=now,
           group_text=GroupText(GROUP_LINE, link=f"/announcements/{ann.id}", title=Published(ann.title)))
    return len(people)


def announcement_key(announcement_id: int) -> str:
    return f"announcement:{announcement_id}"


def publish_due(now: datetime | None = None) -> int:
    """The sweep: every announcement whose time has come."""
    now = now or utcnow()
    ids = db.session.scalars(select(Announcement.id).where(Announcement.published_at.is_(None),
                                                           Announcement.publish_at <= now)).all()
    return sum(1 for i in ids if publish(i, now) is not None)


def mark_read(ann: Announcement, user, now: datetime | None = None) -> None:
    """They opened it: read, and its notice in their inbox too."""
    now = now or utcnow()
    db.session.execute(update(AnnouncementRecipient).where(
        AnnouncementRecipient.announcement_id == ann.id, AnnouncementRecipient.user_id == user.id,
        AnnouncementRecipient.read_at.is_(None)).values(read_at=now).execution_options(synchronize_session=False))
    db.session.execute(update(Notification).where(
        Notification.user_id == user.id, Notification.dedupe_key == announcement_key(ann.id),
        Notification.read_at.is_(None)).values(read_at=now).execution_options(synchronize_session=False))


def unread_for(user, limit: int = 5) -> list[Announcement]:
    """The announcements this person has not read yet, newest first (for their home page)."""
    return list(db.session.scalars(
        select(Announcement).join(AnnouncementRecipient, AnnouncementRecipient.announcement_id == Announcement.id)
        .where(AnnouncementRecipient.user_id == user.id, AnnouncementRecipient.read_at.is_(None))
        .order_by(Announcement.published_at.desc(), Announcement.id.desc()).limit(limit)))


def listing(user, limit: int = 200) -> list[Announcement]:
    """Those addressed to this person and those they wrote (the administrator: all), newest first."""
    s = scope_of(user)
    stmt = select(Announcement).order_by(Announcement.publish_at.desc(), Announcement.id.desc()).limit(limit)
    if not s.admin:
        stmt = stmt.where(or_(Announcement.author_id == user.id, Announcement.id.in_(
            select(AnnouncementRecipient.announcement_id).where(AnnouncementRecipient.user_id == user.id))))
    return list(db.session.scalars(stmt))


def read_counts(ids) -> dict[int, int]:
    """{announcement id: how many of its audience have read it} (one statement)."""
    if not ids:
        return {}
    return dict(db.session.execute(
        select(AnnouncementRecipient.announcement_id, func.count())
        .where(AnnouncementRecipient.announcement_id.in_(ids), AnnouncementRecipient.read_at.isnot(None))
        .group_by(AnnouncementRecipient.announcement_id)).all())


def read_state(ann: Announcement, user) -> AnnouncementRecipient | None:
    return db.session.get(AnnouncementRecipient, (ann.id, user.id))
