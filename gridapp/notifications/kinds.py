"""The kinds of notice gridapp sends, with their default channels and urgency.

Each feature registers its kinds here (by importing register_kind at module level), so
the preferences page can list them and notify() knows their defaults.
"""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Kind:
    name: str
    label: object
    channels: frozenset  # default external channels besides the inbox
    urgent: bool = False  # urgent notices ignore quiet hours


KINDS: dict[str, Kind] = {}


def register_kind(name: str, label, channels=("email",), urgent: bool = False) -> Kind:
    kind = Kind(name, label, frozenset(channels), urgent)
    KINDS[name] = kind
    return kind


def get_kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown notice kind {name!r}; register it in gridapp.notifications.kinds") from None


register_kind("system", _l("Announcements from the town office"), channels=("email",))
register_kind("test", _l("Test notices"), channels=("email",))
register_kind("urgent", _l("Urgent notices"), channels=("email", "sms"), urgent=True)
