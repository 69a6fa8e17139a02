"""The evening job: the day's daily reports (日报), written once and delivered."""
from gridapp.extensions import db
from gridapp.reports.services import evening
from jobs import in_app_context, instant


@in_app_context
def daily_report(at: str | None = None) -> dict:
    """Write today's reports for the town and every community as of now (or `at`), once per
    (scope, day): a second run, or a second scheduler, writes and sends nothing."""
    result = evening(instant(at))
    db.session.commit()
    return result
