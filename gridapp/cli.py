"""Command-line tools of the app: `flask seed-demo` (`flask jobs` lives in jobs/cli.py, `flask seed-bench`
in bench/cli.py; wsgi.py registers both)."""

import click
from flask import current_app

from gridapp.demo import DEMO_PASSWORD, seed
from gridapp.extensions import db


class ScaleParam(click.IntRange):
    """--scale: a whole number from 1 to 1000. Anything else (a benchmark level such as `town`) is
    refused with a pointer to `flask seed-bench`, which wsgi.py registers: gridapp/ never imports bench/."""

    name = "N"

    def __init__(self):
        super().__init__(1, 1000)

    def convert(self, value, param, ctx):
        text = str(value).strip()
        if not text.isdigit():
            self.fail(f"{value!r} is not a whole number from 1 to 1000; benchmark datasets are built by "
                      f"'flask seed-bench LEVEL'", param, ctx)
        return super().convert(text, param, ctx)


def register_cli(app):
    @app.cli.command("seed-demo")
    @click.option("--scale", default="1", show_default=True, type=ScaleParam(), metavar="N",
                  help="Multiply grids, compounds and households by N (1 to 1000). The benchmark datasets "
                       "are built by 'flask seed-bench'.")
    def seed_demo(scale):
        """Build the demo town of 城关镇 (idempotent; refused in production)."""

        if current_app.config["GRIDAPP_ENV"] == "production":
            raise click.ClickException("seed-demo refuses to run when GRIDAPP_ENV=production")
        counts = seed(scale=scale)
        db.session.commit()  # the duty and disinfection demos leave their rows to the caller
        click.echo("Demo data ready: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        click.echo(f"Every demo account has the password {DEMO_PASSWORD}:")
        click.echo("  admin, leader, secretary1-4, gridder1-8, head1-8, vol1-30, pm1-3, unit1, sup1-2")
