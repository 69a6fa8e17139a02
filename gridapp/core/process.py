"""What a long-lived process (a web worker, an RQ worker) does once its app is built."""
import gc


def settle() -> None:
    """Put what was made at start (the app, its routes and forms, SQLAlchemy's mappers, the catalogues)
    out of the cyclic collector's sight. It lives as long as the process; left in view, every full
    collection walks its ~200,000 objects again, a pause of tens of milliseconds in the middle of
    whichever request happens to allocate at that moment (bench/results/render.md)."""
    gc.collect()
    gc.freeze()
