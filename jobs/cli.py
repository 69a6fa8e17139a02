"""`flask jobs list|run`: the periodic jobs from the command line. Registered on the app by wsgi.py
(the composition root), so that gridapp/ never imports the job layer."""
from datetime import UTC, datetime

import click

from jobs.periodic import PERIODIC_JOBS, by_name


def register_jobs_cli(app):
    """Add the `flask jobs` group to this app's command line."""

    @app.cli.group("jobs")
    def jobs_group():
        """Periodic background jobs."""

    @jobs_group.command("list")
    def jobs_list():
        """List the periodic jobs that `rq cron jobs.cron` runs."""

        for p in PERIODIC_JOBS:
            when = f"every {p.interval}s" if p.interval else f"cron '{p.cron}' (town time)"
            click.echo(f"{p.name:24} {when:28} {p.description}")

    @jobs_group.command("run")
    @click.argument("name")
    @click.option("--at", "at", default=None, help="Pretend the time is this ISO-8601 instant.")
    def jobs_run(name, at):
        """Run one periodic job now, in this process."""

        job = by_name(name)
        if job is None:
            raise click.ClickException(f"no periodic job {name!r}; known: "
                                       + ", ".join(p.name for p in PERIODIC_JOBS))
        if at:
            try:
                moment = datetime.fromisoformat(at)
            except ValueError:
                raise click.ClickException(f"--at {at!r} is not an ISO-8601 time") from None
            if moment.tzinfo is None:
                raise click.ClickException("--at needs a time zone, e.g. 2026-03-01T08:00:00+08:00")
            at = moment.astimezone(UTC).isoformat()
        result = job.func(at=at)
        click.echo(f"{name}: {result}")
