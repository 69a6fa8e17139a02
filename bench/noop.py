"""The baseline job: does nothing, so that what it measures is RQ itself."""


def noop() -> None:
    return None
