"""Command-line tools of the app: `flask seed-demo` (`flask jobs` lives in jobs/cli.py)."""

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
