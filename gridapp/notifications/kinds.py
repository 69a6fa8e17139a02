"""The kinds of notice gridapp sends, with their default channels, urgency and the roles that receive them.

Each feature declares its kinds (NOTICE_KINDS in its services module) and create_app registers
them here, so the preferences page can list them and notify() knows their defaults.
"""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from gridapp.auth.models import ROLES

# Every role: for the town office's own notices, which may be addressed to anyone.
EVERYONE = frozenset(ROLES)


@dataclass(frozen=True)
class Kind:
    name: str
    label: object
    channels: frozenset  # default external channels besides the inbox
    urgent: bool = False  # urgent notices ignore quiet hours
    # A message carrying a one-time secret (an invitation link): sent with send_to_person() only,
    # never into an inbox, not among the preferences, and its text erased from the outbox once sent.
    secret: bool = False
    # The roles whose holders are sent this kind (found where it is sent): the preferences page
    # shows a person only the kinds one of their roles receives. Empty: it goes to no person (a
    # group robot only). tests/notifications/test_kinds.py fails when a kind sent to people has none.
    roles: frozenset = frozenset()


KINDS: dict[str, Kind] = {}


def kind(name: str, label, channels=("email",), urgent: bool = False, secret: bool = False, roles=()) -> Kind:
    unknown = set(roles) - EVERYONE
    if unknown:
        raise ValueError(f"notice kind {name!r}: unknown roles {sorted(unknown)}")
    return Kind(name, label, frozenset(channels), urgent, secret, frozenset(roles))


def secret_kinds() -> tuple[str, ...]:
    return tuple(sorted(k.name for k in KINDS.values() if k.secret))


def preference_kinds(roles=None) -> list[Kind]:
    """The kinds a person chooses channels for (a secret one goes wherever it can reach them); with
    `roles` (a person's role names), only the kinds one of those roles receives."""
    return [k for k in KINDS.values() if not k.secret and (roles is None or k.roles & set(roles))]


def register_kinds(kinds) -> None:
    KINDS.update({k.name: k for k in kinds})


def get_kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown notice kind {name!r}; register it in gridapp.notifications.kinds") from None


# The town office's own kinds. Its announcements and urgent notices may go to anyone; a test
# notice goes only to the group robot being tried (notifications.views.test_webhook).
NOTICE_KINDS = (
    kind("system", _l("Messages from the town office"), channels=("email",), roles=EVERYONE),
    kind("test", _l("Test notices"), channels=("email",)),
    kind("urgent", _l("Urgent notices"), channels=("email", "sms"), urgent=True, roles=EVERYONE),
)
