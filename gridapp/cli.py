"""Command-line tools: `flask seed-demo`, `flask jobs list|run`."""
from datetime import UTC, datetime

import click
from flask import current_app


class ScaleParam(click.ParamType):
    """--scale: a whole number from 1 to 1000, or the name of a benchmark level."""

    name = "N|tiny|town|county"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = str(value).strip().lower()
        if text.isdigit() and 1 <= int(text) <= 1000:
            return int(text)
        from gridapp.scale import LEVELS

        if text in LEVELS:
            return text
        self.fail(f"{value!r} is neither a number from 1 to 1000 nor one of {', '.join(LEVELS)}", param, ctx)


def register_cli(app):
    @app.cli.command("seed-demo")
    @click.option("--scale", default="1", show_default=True, type=ScaleParam(), metavar="N|tiny|town|county",
                  help="Multiply grids, compounds and households by N, or build a benchmark dataset with "
                       "30 days of history: tiny, town (20,000 households) or county (200,000).")
    def seed_demo(scale):
        """Build the demo town of 城关镇 (idempotent; refused in production)."""
        from gridapp.demo import DEMO_PASSWORD, seed
        from gridapp.extensions import db

        if current_app.config["GRIDAPP_ENV"] == "production":
            raise click.ClickException("seed-demo refuses to run when GRIDAPP_ENV=production")
        if isinstance(scale, str):
            from gridapp.scale import ScaleError, seed_scale

            try:
                result = seed_scale(scale, progress=click.echo)
            except ScaleError as exc:
                raise click.ClickException(str(exc)) from None
            counts = result["counts"]
            click.echo("Rows: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
            click.echo("Timings (s): " + ", ".join(f"{k} {v}" for k, v in result["timings"].items()))
            click.echo(f"Personas: {', '.join(result['personas'].values())}; "
                       f"{len(result['volunteers']) + 1} volunteers in all (vol1 …).")
        else:
            counts = seed(scale=scale)
            db.session.commit()  # the duty and disinfection demos leave their rows to the caller
            click.echo("Demo data ready: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        click.echo(f"Every demo account has the password {DEMO_PASSWORD}:")
        click.echo("  admin, leader, secretary1-4, gridder1-8, head1-8, vol1-30, pm1-3, unit1, sup1-2")

    @app.cli.group("jobs")
    def jobs_group():
        """Periodic background jobs."""

    @jobs_group.command("list")
    def jobs_list():
        """List the periodic jobs that `rq cron jobs.cron` runs."""
        from jobs.periodic import PERIODIC_JOBS

        for p in PERIODIC_JOBS:
            when = f"every {p.interval}s" if p.interval else f"cron '{p.cron}' (town time)"
            click.echo(f"{p.name:24} {when:28} {p.description}")

    @jobs_group.command("run")
    @click.argument("name")
    @click.option("--at", "at", default=None, help="Pretend the time is this ISO-8601 instant.")
    def jobs_run(name, at):
        """Run one periodic job now, in this process."""
        from jobs.periodic import PERIODIC_JOBS, by_name

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
