"""The kinds of notice gridapp sends, with their default channels and urgency.

Each feature declares its kinds (NOTICE_KINDS in its services module) and create_app registers
them here, so the preferences page can list them and notify() knows their defaults.
"""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Kind:
    name: str
    label: object
    channels: frozenset  # default external channels besides the inbox
    urgent: bool = False  # urgent notices ignore quiet hours
    # A message carrying a one-time secret (an invitation link): sent with send_to_person() only,
    # never into an inbox, not among the preferences, and its text erased from the outbox once sent.
    secret: bool = False


KINDS: dict[str, Kind] = {}


def kind(name: str, label, channels=("email",), urgent: bool = False, secret: bool = False) -> Kind:
    return Kind(name, label, frozenset(channels), urgent, secret)


def secret_kinds() -> tuple[str, ...]:
    return tuple(sorted(k.name for k in KINDS.values() if k.secret))


def preference_kinds() -> list[Kind]:
    """The kinds a person chooses channels for (a secret one goes wherever it can reach them)."""
    return [k for k in KINDS.values() if not k.secret]


def register_kinds(kinds) -> None:
    KINDS.update({k.name: k for k in kinds})


def get_kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown notice kind {name!r}; register it in gridapp.notifications.kinds") from None


# The town office's own kinds.
NOTICE_KINDS = (
    kind("system", _l("Announcements from the town office"), channels=("email",)),
    kind("test", _l("Test notices"), channels=("email",)),
    kind("urgent", _l("Urgent notices"), channels=("email", "sms"), urgent=True),
)
