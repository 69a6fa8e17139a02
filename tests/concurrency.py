"""Running the same work in several threads at once, each with its own session, released together
by a barrier: how the tests prove that sweeps and claims raced against each other still act once."""
import threading

from gridapp.extensions import db


def at_once(app, work, n: int = 4, timeout: float = 60) -> list:
    """Run `work()` in `n` threads released together, each in an app context with its own session;
    their results, in no particular order. Fails the test with the errors any of them raised."""
    barrier, errors, results = threading.Barrier(n), [], []

    def run():
        with app.app_context():
            try:
                barrier.wait()
                results.append(work())
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert errors == [], errors
    return results
