"""The web application: public pages for citizens, the agent side, thin views over use cases."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request
from sqlalchemy import inspect
from werkzeug.middleware.proxy_fix import ProxyFix

from ticketing.config import CommuneConfig, load_all
from ticketing.operations.communes import sync_communes
from ticketing.settings import Settings
from ticketing.tenancy import scope_session
from ticketing.web.errors import DatabaseNotReady
from ticketing.web.extensions import babel, csrf, db, limiter, login_manager, mail
from ticketing.web.registry import Registry
from ticketing.web.security import install_security_headers


def create_app(
    settings: Settings | None = None,
    configs: dict[str, CommuneConfig] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Flask:
    """Build the app; refuses to start on an invalid configuration (ConfigInvalid)."""
    settings = settings or Settings.from_environment()
    configs = configs if configs is not None else load_all(settings.config_dir)
    settings.attachments_dir.mkdir(parents=True, exist_ok=True)

    app = Flask(__name__, static_folder=None, template_folder=None)
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops,
            x_host=settings.proxy_hops)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url),
        MAX_CONTENT_LENGTH=60 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        # Sign-in never sets flask-login's remember cookie; had it to, the same flags apply.
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE="fr",
        BABEL_DEFAULT_TIMEZONE="Europe/Paris",
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
        RATELIMIT_HEADERS_ENABLED=True,
        MAIL_SERVER=settings.smtp_host,
        MAIL_PORT=settings.smtp_port,
        MAIL_USERNAME=settings.smtp_user or None,
        MAIL_PASSWORD=settings.smtp_password or None,
        MAIL_USE_TLS=settings.smtp_tls,
        MAIL_DEFAULT_SENDER=settings.mail_sender,
    )
    app.config.update(overrides or {})
    registry = Registry(settings=settings, configs=configs)
    app.extensions["aiguillage"] = registry

    db.init_app(app)
    _configure_engines(app)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=lambda: "fr")
    mail.init_app(app)
    login_manager.init_app(app)
    install_security_headers(app)
    _install_commune_scope(app)

    from ticketing.web import agent, public, site

    app.register_blueprint(site.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(agent.bp)

    from ticketing.web import account, sso

    app.register_blueprint(account.bp)
    app.register_blueprint(sso.bp)

    from ticketing.web import agent_contacts, mail_admin

    app.register_blueprint(mail_admin.bp)
    app.register_blueprint(agent_contacts.bp)

    from ticketing.web import agent_dispatch

    app.register_blueprint(agent_dispatch.bp)

    from ticketing.web import agent_register

    app.register_blueprint(agent_register.bp)

    from ticketing.web import agent_replies

    app.register_blueprint(agent_replies.bp)

    from ticketing.web import admin

    app.register_blueprint(admin.bp)

    from ticketing.web import agent_search

    app.register_blueprint(agent_search.bp)

    from ticketing.web import pilot, quality

    app.register_blueprint(pilot.bp)
    app.register_blueprint(quality.bp)

    with app.app_context():
        if not inspect(db.engine).has_table("communes"):
            raise DatabaseNotReady(
                f"the database {db.engine.url.render_as_string()} has no schema: "
                "run `aiguillage db upgrade`"
            )
        registry.commune_ids = sync_communes(db.session, configs)
        db.session.commit()
    return app


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"check_same_thread": False, "timeout": 30}}
    return {"pool_pre_ping": True}


def _configure_engines(app: Flask) -> None:
    from ticketing.db import configure_sqlite

    with app.app_context():
        configure_sqlite(db.engine)


def _install_commune_scope(app: Flask) -> None:
    """``<commune>`` in a URL selects the commune; the session is then scoped to it."""

    @app.url_value_preprocessor
    def _pull_commune(_endpoint: str | None, values: dict[str, Any] | None) -> None:
        g.commune = None
        scope_session(db.session, None)
        if values and "commune" in values:
            slug = values.pop("commune")
            ctx = app.extensions["aiguillage"].context(slug)
            g.commune = ctx
            if ctx is not None:
                scope_session(db.session, ctx.commune_id)

    @app.url_defaults
    def _add_commune(endpoint: str, values: dict[str, Any]) -> None:
        if "commune" in values or g.get("commune") is None:
            return
        if app.url_map.is_endpoint_expecting(endpoint, "commune"):
            values["commune"] = g.commune.config.slug

    @app.teardown_request
    def _unscope(_exc: BaseException | None) -> None:
        scope_session(db.session, None)

    @app.context_processor
    def _commune_in_templates() -> dict[str, Any]:
        return {"commune_ctx": g.get("commune"), "current_path": request.path}
