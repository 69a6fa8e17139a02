"""Privacy jobs: the nightly purge of personal data past its retention (gridapp/privacy/retention.py)."""
from gridapp.privacy import retention
from jobs import in_app_context, instant


@in_app_context
def purge_personal_data(at: str | None = None) -> dict[str, int]:
    """Erase what has outlived its retention; the counts."""
    return retention.nightly(instant(at)).counts
