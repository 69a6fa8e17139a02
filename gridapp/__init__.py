"""gridapp: the intranet of a town's epidemic-prevention grid. create_app() builds it."""
import os
from pathlib import Path

from flask import Flask, session

from gridapp import (
    models,  # noqa: F401  (every table registered with the metadata)
    policy,
)
from gridapp.admin.views import bp as admin_bp
from gridapp.announcements import policy as announcements_policy
from gridapp.announcements import services as announcements_services
from gridapp.announcements.views import bp as announcements_bp
from gridapp.auth import invitations
from gridapp.auth import policy as auth_policy
from gridapp.auth.services import load_session
from gridapp.auth.views import bp as auth_bp
from gridapp.catalogues import ensure_catalogues
from gridapp.cli import register_cli
from gridapp.config import DEFAULT_INSTANCE, PROJECT_ROOT, load_config
from gridapp.core import assets, errors, fragments, redact, security, statements, templating
from gridapp.core.http import RowIdConverter
from gridapp.core.views import bp as core_bp
from gridapp.disinfection import policy as disinfection_policy
from gridapp.disinfection import services as disinfection_services
from gridapp.disinfection import today as disinfection_today
from gridapp.disinfection.views import bp as disinfection_bp
from gridapp.duty import policy as duty_policy
from gridapp.duty import services as duty_services
from gridapp.duty import today as duty_today
from gridapp.duty.views import bp as duty_bp
from gridapp.errands import policy as errands_policy
from gridapp.errands import services as errands_services
from gridapp.errands import today as errands_today
from gridapp.errands.views import bp as errands_bp
from gridapp.extensions import GridApp, babel, compress, csrf, db, limiter, login_manager, migrate
from gridapp.grid.views import bp as grid_bp
from gridapp.imports import policy as imports_policy
from gridapp.imports.views import bp as imports_bp
from gridapp.notifications import kinds
from gridapp.notifications.views import bp as notifications_bp
from gridapp.observation import policy as observation_policy
from gridapp.observation import services as observation_services
from gridapp.observation import today as observation_today
from gridapp.observation.views import bp as observation_bp
from gridapp.ops.views import bp as ops_bp
from gridapp.people import policy as people_policy
from gridapp.people.views import bp as people_bp
from gridapp.privacy import policy as privacy_policy
from gridapp.privacy.retention_views import bp as retention_bp
from gridapp.privacy.views import bp as privacy_bp
from gridapp.redis_conn import limiter_storage_uri, resolve_redis_url
from gridapp.reports import policy as reports_policy
from gridapp.reports import services as reports_services
from gridapp.reports.views import bp as reports_bp
from gridapp.screening import policy as screening_policy
from gridapp.screening import services as screening_services
from gridapp.screening import today as screening_today
from gridapp.screening.views import bp as screening_bp
from gridapp.supervision import policy as supervision_policy
from gridapp.supervision import services as supervision_services
from gridapp.supervision import today as supervision_today
from gridapp.supervision.views import bp as supervision_bp
from gridapp.today import panels as today_panels
from gridapp.today import policy as today_policy
from gridapp.today.views import bp as today_bp


def select_locale():
    from flask import current_app, has_request_context

    chosen = session.get("lang") if has_request_context() else None
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def create_app(config: dict | None = None) -> Flask:
    instance_path = Path(os.environ.get("GRIDAPP_INSTANCE", DEFAULT_INSTANCE))
    if config and "INSTANCE_PATH" in config:
        instance_path = Path(config["INSTANCE_PATH"])
    instance_path.mkdir(parents=True, exist_ok=True)
    app = GridApp(__name__, instance_path=str(instance_path))
    app.config.update(load_config(instance_path, config))

    app.url_map.converters["int"] = RowIdConverter

    redis_url = resolve_redis_url(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", limiter_storage_uri(redis_url))
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "gridapp-limit")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    # Redis away must not take logging in down: the limiter counts in this process's memory until
    # Redis answers again (and logs both moments), and never fails a request over its storage.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 2, "socket_timeout": 2})
    # Every limit of a login is tested (and so counted), not only up to the first one that is over.
    app.config.setdefault("RATELIMIT_FAIL_ON_FIRST_BREACH", False)
    if app.config["TRUSTED_PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True,
                     compare_type=True)
    csrf.init_app(app)
    compress.init_app(app)

    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(ensure_catalogues(instance_path)))
    limiter.init_app(app)
    _log_limiter(app)
    _init_login(app)

    app.register_blueprint(core_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(grid_bp, url_prefix="/grid")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(notifications_bp, url_prefix="/notifications")
    app.register_blueprint(ops_bp, url_prefix="/admin/jobs")
    app.register_blueprint(supervision_bp, url_prefix="/supervision")
    app.register_blueprint(disinfection_bp, url_prefix="/disinfection")
    app.register_blueprint(duty_bp, url_prefix="/duty")
    app.register_blueprint(errands_bp, url_prefix="/errands")
    app.register_blueprint(imports_bp, url_prefix="/imports")
    app.register_blueprint(reports_bp, url_prefix="/reports")
    app.register_blueprint(announcements_bp, url_prefix="/announcements")
    app.register_blueprint(today_bp, url_prefix="/today")
    app.register_blueprint(privacy_bp, url_prefix="/privacy")
    app.register_blueprint(people_bp, url_prefix="/people")
    app.register_blueprint(retention_bp, url_prefix="/privacy")
    app.register_blueprint(observation_bp, url_prefix="/observation")
    app.register_blueprint(screening_bp, url_prefix="/screening")

    _register_features()

    security.init_app(app)
    errors.init_app(app)
    redact.init_app(app)
    templating.init_app(app)
    fragments.init_app(app)
    statements.init_app(app)
    assets.init_app(app)

    register_cli(app)
    app.logger.debug("gridapp ready on %s", app.config["SQLALCHEMY_DATABASE_URI"].split("@")[-1])
    return app


def _register_features() -> None:
    """Tell can() every feature's rules and state machines, notify() every kind of notice, and
    the today board every feature's panel, whether or not anything has imported the feature yet."""

    for rules in (auth_policy, duty_policy, errands_policy, disinfection_policy, supervision_policy,
                  imports_policy, reports_policy, announcements_policy, today_policy, privacy_policy, people_policy,
                  observation_policy, screening_policy):
        policy.register_feature(rules)
    for feature in (kinds, invitations, duty_services, errands_services, disinfection_services,
                    supervision_services, reports_services, announcements_services, observation_services,
                    screening_services):
        kinds.register_kinds(feature.NOTICE_KINDS)
    for feature in (duty_today, disinfection_today, errands_today, supervision_today, observation_today,
                    screening_today):
        today_panels.register_panel(feature.PANEL)


def _log_limiter(app: Flask) -> None:
    """Flask-Limiter logs when its storage is unreachable and it falls back to memory, when it
    recovers, and every limit exceeded: into the app's log (stderr, gunicorn's error log)."""
    import logging

    from flask.logging import default_handler

    log = logging.getLogger("flask-limiter")
    if default_handler not in log.handlers:
        log.addHandler(default_handler)
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)


def _init_login(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    # Flask-Login's own "strong" protection would log people out when a phone's
    # network changes; sessions are server-side and revocable instead.
    login_manager.session_protection = None

    @login_manager.user_loader
    def _load(token):
        return load_session(token)
