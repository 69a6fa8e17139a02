"""`flask seed-bench tiny|town|county`: the benchmark datasets from the command line. Registered on
the app by wsgi.py (the composition root), so that gridapp/ never imports the benchmarks."""
import click
from flask import current_app

from bench.seed import LEVELS, DatasetError, seed_dataset


def register_bench_cli(app):
    """Add `flask seed-bench` to this app's command line."""

    @app.cli.command("seed-bench")
    @click.argument("level", type=click.Choice(list(LEVELS)))
    def seed_bench(level):
        """Grow the demo town into a benchmark dataset with 30 days of history (7 for tiny): tiny (a few
        hundred households), town (20,000) or county (200,000). Refused in production."""
        if current_app.config["GRIDAPP_ENV"] == "production":
            raise click.ClickException("seed-bench refuses to run when GRIDAPP_ENV=production")
        try:
            result = seed_dataset(level, progress=click.echo)
        except DatasetError as exc:
            raise click.ClickException(str(exc)) from None
        counts = result["counts"]
        click.echo("Rows: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
        click.echo("Timings (s): " + ", ".join(f"{k} {v}" for k, v in result["timings"].items()))
        click.echo(f"Personas: {', '.join(result['personas'].values())}; "
                   f"{len(result['volunteers']) + 1} volunteers in all (vol1 …).")
        click.echo(f"Every account has the password {result['password']}.")
