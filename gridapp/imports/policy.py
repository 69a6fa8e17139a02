"""Who may import spreadsheets, and see or confirm an import: the administrator for the whole town,
a community secretary for their own community."""
from flask_babel import lazy_gettext as _l

from gridapp.imports.models import ImportRun

STATUS_LABELS = {
    "previewed": _l("Preview"),
    "queued": _l("Waiting to run"),
    "running": _l("Importing"),
    "done": _l("Imported"),
    "failed": _l("Failed"),
    "discarded": _l("Discarded"),
}

ACTIONS = {"import_data": {"admin", "secretary"}}


def _run_rule(user, s, action, run) -> bool:
    if action not in ("view", "confirm", "discard"):
        return False
    if s.admin:
        return True
    return run.community_id is not None and run.community_id in s.communities


OBJECT_RULES = {ImportRun: _run_rule}
