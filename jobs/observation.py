"""Home observation's periodic sweep: end or extend observations past their last day, make the day's
checks, and chase checks not recorded (building head, then grid member, then secretary)."""
from gridapp.extensions import db
from jobs import in_app_context, instant


@in_app_context
def sweep_observation(at: str | None = None) -> dict:
    """Idempotent: a second run (or two at once) ends, extends, makes and tells nothing more."""
    from gridapp.observation.services import sweep
    from gridapp.timeutil import utcnow

    result = sweep(instant(at) or utcnow())
    db.session.commit()
    return result
