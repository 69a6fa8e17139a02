"""Every staff look at residents' data and every export, recorded; read back by person and by
household; a resident's request answered from everything held about one household.

A look is one `AccessRecord`: a household's details ("household"), a list showing phones or health
flags ("list": one record per compound the list showed), a file ("export") or a resident's request
("request"). Volunteers' looks at an errand's contact keep their own table (errand_contact_views);
a household's "who looked" reads both.
"""
import dataclasses
from dataclasses import dataclass
from datetime import datetime

from flask import after_this_request, g, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, insert, or_, select, update

from gridapp.audit.models import AuditEvent
from gridapp.audit.services import client_ip, record
from gridapp.auth.models import User
from gridapp.core.rules import RuleError
from gridapp.errands.models import ContactView, Errand, ErrandEvent
from gridapp.extensions import db
from gridapp.grid.models import Household
from gridapp.imports.kinds import KINDS
from gridapp.observation.models import Observation
from gridapp.people.models import Person
from gridapp.people.services import household_people
from gridapp.privacy.models import AccessRecord
from gridapp.screening.models import ScreeningVisit
from gridapp.timeutil import utcnow

KIND_LABELS = {
    "household": _l("A household's details"),
    "list": _l("A list with phones or health flags"),
    "export": _l("An export"),
    "request": _l("A resident's request"),
}

WHAT_LABELS = {
    "compound_households": _l("Households of a compound"),
    "household_search": _l("Household search"),
    "household_row": _l("A household's row"),
    "household_form": _l("A household's form"),
    "household_people": _l("A household's people"),
    "people_search": _l("People search"),
    "screening_coverage": _l("Households still to visit in a screening campaign"),
    "screening_visits": _l("My screening visits"),
    "screening_visit": _l("A household's screening visit"),
    "errand_contact": _l("An errand's contact"),
    "errand_contact_volunteer": _l("An errand's contact (volunteer)"),
    "resident_request": _l("Everything held about a household"),
    "resident_erase": _l("A household's data deleted at its resident's request"),
    "observation": _l("A home observation"),
    "observation_list": _l("People under home observation"),
    "observation_ledger": _l("Home observation ledger"),
    "export:observation": _l("Home observation ledger (Excel)"),
    "export:errands": _l("Errands (Excel)"),
    "export:duty_hours": _l("Duty hours (Excel)"),
    "export:rounds": _l("Disinfection rounds (Excel)"),
    "export:items": _l("Rectification items (Excel)"),
    "export:report": _l("Daily report (Excel)"),
}


def what_label(what: str) -> str:
    if what in WHAT_LABELS:
        return str(WHAT_LABELS[what])
    if what.startswith("export:"):
        kind = KINDS.get(what.removeprefix("export:"))
        if kind is not None:
            return f"{kind.label} (Excel)"
    return what


def record_look(user, kind: str, what: str, *, household: Household | None = None, compound=None,
                community_id: int | None = None, scope: str = "", rows: int = 0, personal: bool = False,
                reason: str = "", now: datetime | None = None) -> AccessRecord:
    """Add one record to the session (the caller commits)."""
    if household is not None and compound is None:
        compound = household.compound
    if compound is not None and community_id is None:
        community_id = compound.grid.community_id
    if not scope and compound is not None:
        scope = compound.name + (f" {household.label}" if household is not None else "")
    rec = AccessRecord(at=now or utcnow(), user_id=user.id, kind=kind, what=what,
                       household_id=household.id if household is not None else None,
                       compound_id=compound.id if compound is not None else None, community_id=community_id,
                       scope=scope[:200], rows=rows, personal=personal, reason=reason[:200], ip=client_ip())
    db.session.add(rec)
    return rec


def _commit_with_the_response() -> None:
    """Commit the records once the page is rendered (committing now would expire the objects the
    page is about to show, and load them all again); at once outside a request."""
    if not has_request_context():
        db.session.commit()
        return
    if g.get("_looks_pending"):
        return
    g._looks_pending = True

    @after_this_request
    def _commit(response):
        db.session.commit()
        return response


def record_household_look(user, household: Household, what: str) -> None:
    """A staff member was shown one household's details: recorded with the response."""
    record_look(user, "household", what, household=household)
    _commit_with_the_response()


def record_list_look(user, what: str, households) -> None:
    """A staff member was shown a list of households (phones, health flags): one record per compound
    on the page, with how many of its households it showed; recorded with the response. Nothing when
    the list is empty.
    The households' compounds and grids are those already loaded for the page."""
    record_places_look(user, what, ((h.compound_id, h.compound.name, h.compound.grid.community_id)
                                    for h in households))


def record_places_look(user, what: str, places) -> None:
    """record_list_look for a list read as plain rows: `places` gives, for each household shown, its
    (compound id, compound name, community id)."""
    per_compound: dict[int, list] = {}
    for compound_id, name, community_id in places:
        per_compound.setdefault(compound_id, [name, community_id, 0])[2] += 1
    if not per_compound:
        return
    ip, now = client_ip(), utcnow()
    db.session.execute(insert(AccessRecord), [
        {"at": now, "user_id": user.id, "kind": "list", "what": what, "compound_id": compound_id,
         "community_id": community_id, "scope": name[:200], "rows": rows, "personal": False,
         "reason": "", "ip": ip, "household_id": None}
        for compound_id, (name, community_id, rows) in per_compound.items()])  # one statement for them all
    _commit_with_the_response()


# --- reading the records back ----------------------------------------------------------------

@dataclass
class Look:
    at: datetime
    user: User
    kind: str
    what: str
    scope: str
    rows: int
    personal: bool
    reason: str
    ip: str
    via_list: bool = False  # the household was on a list of its compound, not opened itself

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS.get(self.kind, self.kind))

    @property
    def what_label(self) -> str:
        return what_label(self.what)


def _as_look(rec: AccessRecord, via_list: bool = False) -> Look:
    return Look(rec.at, rec.user, rec.kind, rec.what, rec.scope, rec.rows, rec.personal, rec.reason, rec.ip,
                via_list)


def search_records(person: str = "", household_id: int | None = None, kind: str = ""):
    """The records, newest first (a select for db.paginate): by a person's username, by kind, and
    for a household its own looks and the lists of its compound."""
    stmt = select(AccessRecord).options(db.joinedload(AccessRecord.user)).order_by(AccessRecord.id.desc())
    if person:
        stmt = stmt.join(User, User.id == AccessRecord.user_id).where(
            or_(User.username == person, User.display_name == person))
    if kind:
        stmt = stmt.where(AccessRecord.kind == kind)
    if household_id is not None:
        compound_id = db.session.scalar(select(Household.compound_id).where(Household.id == household_id))
        stmt = stmt.where(or_(AccessRecord.household_id == household_id,
                              (AccessRecord.kind == "list") & (AccessRecord.compound_id == compound_id)))
    return stmt


def who_looked(household: Household, limit: int = 200) -> list[Look]:
    """Who saw this household, newest first: staff who opened it or a list of its compound, volunteers
    shown its address for an errand. Two statements whatever the number of records."""
    records = db.session.scalars(search_records(household_id=household.id).limit(limit)).unique().all()
    looks = [_as_look(r, via_list=r.household_id is None) for r in records]
    views = db.session.scalars(select(ContactView).options(db.joinedload(ContactView.user))
                               .where(ContactView.household_id == household.id)
                               .order_by(ContactView.id.desc()).limit(limit)).all()
    looks += [Look(v.viewed_at, v.user, "household", "errand_contact_volunteer", f"#{v.errand_id}", 1, False, "",
                   v.ip) for v in views]
    looks.sort(key=lambda look: look.at, reverse=True)
    return looks[:limit]


# --- a resident's request: everything held about one household ----------------------------------

@dataclass
class Dossier:
    household: Household
    people: list
    errands: list
    events: list  # the audit trail's events about the household, its errands and its visits
    looks: list[Look]
    visits: list = dataclasses.field(default_factory=list)  # its screening visits (排查), one per campaign


def dossier(household: Household) -> Dossier:
    """What gridapp holds about this household: its row, its errands (with what they brought and
    every note), the audit trail about it and them, and who looked. A fixed number of statements."""
    errands = db.session.scalars(select(Errand).options(db.joinedload(Errand.filed_by), db.joinedload(Errand.claimant))
                                 .where(Errand.household_id == household.id).order_by(Errand.id)).all()
    errand_ids = [e.id for e in errands]
    visits = db.session.scalars(select(ScreeningVisit).options(db.joinedload(ScreeningVisit.campaign),
                                                               db.joinedload(ScreeningVisit.recorded_by))
                                .where(ScreeningVisit.household_id == household.id)
                                .order_by(ScreeningVisit.id)).all()
    events = db.session.scalars(select(AuditEvent).where(or_(
        (AuditEvent.object_type == "Household") & (AuditEvent.object_id == household.id),
        (AuditEvent.object_type == "Errand") & AuditEvent.object_id.in_(errand_ids or [-1]),
        (AuditEvent.object_type == "ScreeningVisit") & AuditEvent.object_id.in_([v.id for v in visits] or [-1]),
    )).order_by(AuditEvent.id)).all()
    return Dossier(household, household_people(household), errands, events, who_looked(household), visits)


# --- erasing a household's personal data at its resident's request ---------------------------

HOUSEHOLD_CLEARED = {"head_name": "", "phone": "", "housebound": False, "living_alone": False,
                     "observation_until": None, "notes": ""}
ERRAND_CLEARED = {"items": "", "notes": "", "delivery_note": "", "cancel_reason": "", "receipt_photo": None,
                  "delivery_photo": None}


@dataclass
class Erased:
    errands: int
    photos: list[str]  # the stored names to delete from disk once committed


def erase_household(household: Household, actor, reason: str, now: datetime | None = None) -> Erased:
    """Clear everything personal held about this household, in the caller's transaction: its head,
    phone, health flags and notes; its people; its errands' items, notes, delivery notes, cancel
    reasons, event notes and photos; its screening visits' notes. The dwelling (compound,
    building-unit-room) stays, as do the errands' places, categories and times (the town's
    statistics) and the record of who looked. Refused while one of its errands is under way (its
    volunteer needs the address), or while one of its people is under home observation."""
    errands = db.session.scalars(select(Errand).where(Errand.household_id == household.id)
                                 .with_for_update()).all()
    if any(e.status not in ("confirmed", "cancelled") for e in errands):
        raise RuleError(_l("An errand of this household is under way: finish or cancel it first."), "reason")
    if db.session.scalar(select(Observation.id).join(Person, Person.id == Observation.person_id)
                         .where(Person.household_id == household.id, Observation.status == "active").limit(1)):
        raise RuleError(_l("Someone of this household is under home observation: end it first."), "reason")
    photos = [p for e in errands for p in (e.receipt_photo, e.delivery_photo) if p]
    erased_at = now or utcnow()
    for e in errands:
        for field, value in ERRAND_CLEARED.items():
            setattr(e, field, value)
        e.erased_at = erased_at  # its page says so, and its contact is no longer shown
    if errands:
        db.session.execute(update(ErrandEvent).where(ErrandEvent.errand_id.in_([e.id for e in errands]))
                           .values(note=""))
    for field, value in HOUSEHOLD_CLEARED.items():
        setattr(household, field, value)
    people = db.session.execute(delete(Person).where(Person.household_id == household.id)).rowcount
    visits = db.session.execute(update(ScreeningVisit).where(ScreeningVisit.household_id == household.id)
                                .values(notes="").execution_options(synchronize_session=False)).rowcount
    record("household_erased", household, summary=f"people: {people}; errands: {len(errands)}; "
                                                  f"photos: {len(photos)}; visits' notes: {visits}", actor=actor)
    record_look(actor, "request", "resident_erase", household=household, reason=reason, now=now)
    return Erased(len(errands), photos)
