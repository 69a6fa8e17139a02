"""The RQ worker class gridapp runs: `rq worker --worker-class jobs.worker.AppWorker`.

It runs jobs in the worker process itself (RQ's SimpleWorker) with the Flask app built
once, instead of forking a work horse per job that would build the app and open database
connections every time: `python -m bench.notifications` measured the forking worker at
about a third of this speed. Job timeouts still hold (SIGALRM in the worker); a job that
crashes the process is retried through the outbox lease and RQ's registries, and the
process manager restarts the worker.
"""
from rq.worker import SimpleWorker


class AppWorker(SimpleWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        import jobs.disinfection  # noqa: F401
        import jobs.duty  # noqa: F401
        import jobs.errands  # noqa: F401
        import jobs.maintenance  # noqa: F401  (job modules, imported once)
        import jobs.notifications  # noqa: F401
        import jobs.supervision  # noqa: F401
        from gridapp.core.process import settle
        from jobs import get_app

        get_app()
        settle()
