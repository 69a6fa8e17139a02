"""Who reads and writes daily reports: the town's office (admin, town leader, supervisors) all of
them; a secretary her community's and the town's. Regenerating: the admin and the town leader any
report, a secretary her community's. The wording: the admin and the town leader."""
from gridapp.reports.models import DailyReport

ACTIONS = {
    "view_reports": {"admin", "town_leader", "supervisor", "secretary"},
    "edit_report_template": {"admin", "town_leader"},
}


def _report_rule(user, s, action, report) -> bool:
    if action == "view":
        return s.admin or s.town_wide or report.community_id is None and bool(s.communities) \
            or report.community_id in s.communities
    if action == "regenerate":
        return s.admin or "town_leader" in s.roles or (report.community_id is not None
                                                       and report.community_id in s.communities)
    return False


OBJECT_RULES = {DailyReport: _report_rule}
