"""The import job: writes one confirmed spreadsheet, all or nothing (gridapp/imports/services.py)."""
from gridapp.imports import services
from jobs import in_app_context


@in_app_context
def run_import(run_id: int):
    """Run a confirmed import; a second run of the same job finds it no longer queued and does nothing."""
    return services.execute(run_id, on_progress=lambda rows: services.report_progress(run_id, rows))
