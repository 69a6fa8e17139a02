"""The dedupe keys of disinfection's notices, one format each: the services notify with them and
the benchmark seeder (bench/seed/disinfection.py) writes its history with them, so the sweeps
recognise it."""
from datetime import date


def missed_place(compound_id: int | None, point_id: int) -> str:
    """Where missed rounds are told together: a compound's points as one, a public place alone."""
    return f"k{compound_id}" if compound_id else f"p{point_id}"


def disinfection_missed(place: str, day: date, window: str) -> str:
    """The missed rounds of one place (missed_place) in one window of one day."""
    return f"disinfection-missed:{place}:{day.isoformat()}:{window}"


def disinfection_compound(compound_id: int, day: date) -> str:
    """A compound's secretary told of its many misses in one day."""
    return f"disinfection-compound:{compound_id}:{day.isoformat()}"


def disinfection_flag(point_id: int, last_day: date) -> str:
    """A point flagged for missing rounds three days running, up to `last_day`."""
    return f"disinfection-flag:{point_id}:{last_day.isoformat()}"
