"""Command-line tools of the app: `flask town init`, `flask seed-demo`, `flask backup`, `flask restore`
(`flask jobs` lives in jobs/cli.py, `flask seed-bench` in bench/cli.py; wsgi.py registers both)."""
import os
from pathlib import Path

import click
from flask import current_app

from gridapp.admin.town import AlreadyInitialised, check_zone, init_town
from gridapp.core.rules import RuleError
from gridapp.demo import DEMO_PASSWORD, seed
from gridapp.extensions import db
from gridapp.ops.backup import BackupError, create_backup, restore_backup

# `flask town init` takes the first administrator's password from here when it is set (automation);
# otherwise it asks for it on the terminal, without echo.
PASSWORD_ENV = "GRIDAPP_ADMIN_PASSWORD"


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
    _register_town(app)

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

    @app.cli.command("backup")
    @click.option("--to", "folder", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="The folder to write the archive into (default: BACKUP_DIR).")
    @click.option("--keep", type=click.IntRange(min=0), default=None, metavar="N",
                  help="Then keep the N newest gridapp backups in that folder and delete older ones "
                       "(default: BACKUP_KEEP; 0 keeps all).")
    def backup(folder, keep):
        """Back up the database and the uploaded photos into one archive, while the app runs."""

        folder = folder or current_app.config["BACKUP_DIR"]
        if not folder:
            raise click.UsageError("say where the backup goes: --to DIR, or set BACKUP_DIR")
        keep = current_app.config["BACKUP_KEEP"] if keep is None else keep
        try:
            made = create_backup(folder, keep=keep)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from None
        counts = made.manifest["row_counts"]
        click.echo(f"Backup written: {made.path} ({made.path.stat().st_size:,} bytes: {sum(counts.values())} rows "
                   f"in {len(counts)} tables, {len(made.manifest['photos'])} photos)")
        for old in made.pruned:
            click.echo(f"Deleted the older backup {old.name} (keeping {keep})")

    @app.cli.command("restore")
    @click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--yes", is_flag=True,
                  help="Replace the database's rows even though it is not empty (stop the web and workers first).")
    def restore(archive, yes):
        """Restore a backup archive into the configured database and photo folder, then check both
        against the archive's manifest."""

        try:
            done = restore_backup(archive, replace=yes)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from None
        m = done.manifest
        click.echo(f"Restored {archive.name} (made {m['created_at_town']}): {sum(m['row_counts'].values())} rows "
                   f"in {len(m['row_counts'])} tables, {len(m['photos'])} photos")
        for note in done.notes:
            click.echo(f"Note: {note}")
        if done.differences:
            for line in done.differences:
                click.echo(f"  differs: {line}", err=True)
            raise click.ClickException(f"{len(done.differences)} differences between the restored data and the "
                                       f"backup's manifest (listed above)")
        click.echo("Checked: every table's row count and every photo's checksum match the backup.")

def _register_town(app):
    @app.cli.group("town")
    def town_group():
        """The town itself: its first day."""

    @town_group.command("init")
    @click.option("--name", "town_name", prompt="Town name (e.g. 城关镇)", help="The town's name.")
    @click.option("--timezone", default=None, metavar="ZONE",
                  help="The town's IANA time zone; it must equal TIMEZONE (default: TIMEZONE).")
    @click.option("--admin-username", default="admin", show_default=True, help="The first administrator's username.")
    @click.option("--admin-name", default="", help="The administrator's name as shown to others.")
    @click.option("--admin-phone", default="", help="The administrator's mobile number (optional).")
    @click.option("--admin-email", default="", help="The administrator's e-mail address (optional).")
    def town_init(town_name, timezone, admin_username, admin_name, admin_phone, admin_email):
        """Create the town and its first administrator, on an empty database (after `flask db upgrade`).

        The password is read from GRIDAPP_ADMIN_PASSWORD when set, else asked twice without echo.
        Refused when the database already has a town or an account."""

        configured = current_app.config["TIMEZONE"]
        try:
            zone = check_zone(timezone or configured)
        except RuleError as exc:
            raise click.ClickException(str(exc)) from None
        if zone != configured:
            # Every process (web, worker, scheduler) reads the zone from its environment: a zone kept
            # only in the database would leave `rq cron` and the workers on another clock.
            raise click.ClickException(
                f"the town's time zone is read from TIMEZONE, which is {configured!r} here: set "
                f"TIMEZONE={zone} for the web, worker and scheduler processes (and this command), then run again")
        from_env = os.environ.get(PASSWORD_ENV)
        for attempt in range(3):
            password = from_env if from_env is not None else click.prompt(
                f"Password for {admin_username}", hide_input=True, confirmation_prompt=True)
            try:
                town, user = init_town(town_name=town_name, username=admin_username, display_name=admin_name,
                                       password=password, phone=admin_phone, email=admin_email)
            except AlreadyInitialised as exc:
                db.session.rollback()
                raise click.ClickException(str(exc)) from None
            except RuleError as exc:
                db.session.rollback()
                if exc.field != "password" or from_env is not None or attempt == 2:
                    source = f" ({PASSWORD_ENV})" if exc.field == "password" and from_env is not None else ""
                    raise click.ClickException(f"{exc}{source}") from None
                click.echo(f"Refused: {exc}", err=True)
                continue
            db.session.commit()
            break
        click.echo(f"Town {town.name} created (time zone {zone}).")
        click.echo(f"Administrator {user.username} can now log in, create accounts and import the town's "
                   "places and people (README: A real town moves in).")
