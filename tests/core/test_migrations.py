"""Migrations build exactly the models' schema, and come down again, on SQLite and PostgreSQL."""
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from gridapp import create_app
from gridapp.extensions import db
from tests.conftest import INSTANCE, TEST_DATABASE_URL, test_config


@pytest.fixture
def empty_database():
    """A brand-new database of the kind the suite runs on."""
    if TEST_DATABASE_URL:
        url = make_url(TEST_DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        name = f"gridapp_migr_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = INSTANCE / f"migr-{uuid.uuid4().hex[:8]}.db"
        yield f"sqlite:///{path}"
        path.unlink(missing_ok=True)


def test_migrations_match_the_models_and_downgrade(empty_database):
    app = create_app(test_config(SQLALCHEMY_DATABASE_URI=empty_database))
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        downgrade(revision="base")
        remaining = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        db.engine.dispose()


def test_making_passwords_optional_keeps_every_row_that_refers_to_an_account(empty_database):
    """0010 alters users.password_hash, which SQLite can only do by rebuilding the table: with foreign
    keys on, dropping the old table would first delete its rows and cascade to every table that
    refers to it (roles, sessions, notices…). Every row stays, and coming down again keeps them too."""
    app = create_app(test_config(SQLALCHEMY_DATABASE_URI=empty_database))
    with app.app_context():
        upgrade(revision="0009_session_reauthentication")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO users (id, username, display_name, is_party_member, active, password_hash, "
                              "created_at, password_changed_at) VALUES (1, 'vol1', 'Vol1', false, true, 'scrypt:x', "
                              "'2026-03-01 00:00:00', '2026-03-01 00:00:00')"))
            conn.execute(text("INSERT INTO role_assignments (id, user_id, role, scope_type, scope_id, created_at) "
                              "VALUES (1, 1, 'admin', 'system', 0, '2026-03-01 00:00:00')"))
            conn.execute(text("INSERT INTO login_sessions (id, user_id, created_at, last_seen_at) "
                              "VALUES ('s1', 1, '2026-03-01 00:00:00', '2026-03-01 00:00:00')"))
        upgrade()

        def rows():
            with db.engine.connect() as conn:
                return [conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                        for t in ("users", "role_assignments", "login_sessions")]

        assert rows() == [1, 1, 1]
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO users (id, username, display_name, is_party_member, active, created_at) "
                              "VALUES (2, 'newbie', 'Newbie', false, true, '2026-03-02 00:00:00')"))
            if db.engine.dialect.name == "sqlite":  # foreign keys are on again after the migration
                assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
                assert conn.execute(text("PRAGMA foreign_key_check")).fetchall() == []
        downgrade(revision="0009_session_reauthentication")
        assert rows() == [2, 1, 1]
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT password_hash FROM users WHERE id = 2")).scalar() == "!"
        downgrade(revision="base")
        db.engine.dispose()
