"""create_app(): configuration, extensions, database set-up, blueprints, CLI and error pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from sqlalchemy import event

from sunvote import config as config_module
from sunvote.commands import register_commands
from sunvote.extensions import babel, csrf, db, limiter, login_manager, migrate

PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """templates/, static/ and migrations/ sit at the repository's top level; a wheel carries
    them inside the package. Use whichever exists."""
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PACKAGE_DIR.parent / name


#: Every page's policy: scripts, styles, images and connections from this site only (style
#: attributes stay allowed: some pages set widths inline); never framed; forms post here only.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' "
                           "'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
                           "object-src 'none'; base-uri 'self'; form-action 'self'; "
                           "frame-ancestors 'none'")

#: The pages that may use the camera and the microphone: the hall video page (the hall device),
#: the cloud member's video page and voting page (which carries the video too, so that the
#: member is seen while voting). Every other page may not, nor may anything it frames.
CAMERA_PAGES = frozenset({"assembly.hall_video", "video.phone", "cloud.meeting"})
CAMERA_PAGES_POLICY = "camera=(self), microphone=(self), display-capture=(), geolocation=()"
NO_CAMERA_POLICY = "camera=(), microphone=(), display-capture=(), geolocation=()"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the SunVote app; ``config`` overrides what the environment gives (tests use it)."""
    app = Flask("sunvote", instance_path=config_module.instance_path(),
                instance_relative_config=True,
                template_folder=str(resource_dir("templates")),
                static_folder=str(resource_dir("static")))
    app.config.from_mapping(config_module.load_config(Path(app.instance_path)))
    if config:
        app.config.update(config)
    from sunvote.web import static_files

    static_files.init_app(app)  # first: its compression then runs after every other hook
    # The session cookie's signature expires with the longest a login session may last.
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(hours=app.config["SESSION_HOURS"])
    if app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_NAME"] == "session":
        # Over HTTPS the browser keeps it only if Secure, for this host alone and path /.
        app.config["SESSION_COOKIE_NAME"] = "__Host-session"
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(PACKAGE_DIR / "translations")
    if app.config.get("WITNESS_KEY"):
        from sunvote.domain.ledger.checkpoint import CosignatureVerifier

        try:  # a bad key would make every cosignature fail later; say so at start-up
            CosignatureVerifier.from_vkey(str(app.config["WITNESS_KEY"]))
        except ValueError as error:
            raise RuntimeError(f"SUNVOTE_WITNESS_KEY is not a witness verifier key: {error}") \
                from None

    from sunvote.domain.ledger.origin import OriginError, check_origin_prefix

    try:
        check_origin_prefix(str(app.config["LOG_ORIGIN_PREFIX"]))
    except OriginError as error:
        raise RuntimeError(f"SUNVOTE_LOG_ORIGIN_PREFIX: {error}") from None

    from sunvote.web import links

    links.init_app(app)  # SUNVOTE_BASE_URL, TRUSTED_HOSTS, tokens kept out of the logs

    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:  # only then is X-Forwarded-For the client's address (docs/operations.md)
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    db.init_app(app)
    migrate.init_app(app, db, directory=str(resource_dir("migrations")))
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    with app.app_context():
        configure_engine(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
    from sunvote.services.keys import open_passphrase

    open_passphrase(app)  # refuses to start without it once keys exist; says if it opens none

    from sunvote.admin.views import bp as admin_bp
    from sunvote.api.views import bp as api_bp
    from sunvote.assembly.views import bp as assembly_bp
    from sunvote.auth.views import bp as auth_bp
    from sunvote.cloud.views import bp as cloud_bp
    from sunvote.documents.views import bp as documents_bp
    from sunvote.matters.views import bp as matters_bp
    from sunvote.notices.views import bp as notices_bp
    from sunvote.opendata.views import bp as opendata_bp
    from sunvote.oversight.views import bp as oversight_bp
    from sunvote.public import suggestions as _public_suggestions  # noqa: F401 (its routes)
    from sunvote.public.views import bp as public_bp
    from sunvote.recording.views import bp as recording_bp
    from sunvote.supervision.views import bp as supervision_bp
    from sunvote.verifier.views import bp as verifier_bp
    from sunvote.video.views import bp as video_bp
    from sunvote.web.errors import DatabaseIntConverter, register_error_handlers
    from sunvote.web.templating import register_template_helpers

    app.url_map.converters["int"] = DatabaseIntConverter  # before the routes are added
    app.register_blueprint(auth_bp)
    app.register_blueprint(matters_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(supervision_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(assembly_bp)
    app.register_blueprint(notices_bp)
    app.register_blueprint(documents_bp)
    app.register_blueprint(cloud_bp)
    app.register_blueprint(oversight_bp)
    app.register_blueprint(opendata_bp)
    app.register_blueprint(verifier_bp)
    app.register_blueprint(video_bp)
    app.register_blueprint(recording_bp)
    register_error_handlers(app)
    register_template_helpers(app)

    register_commands(app)

    @app.after_request
    def remember_language(response):
        lang = g.get("set_lang")
        if lang:
            response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # No inline script anywhere (the pages' behaviour is in static/js); downloads of
        # uploaded files set their own, stricter policy (sandbox) first, and are never framed
        # either.
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        policy = response.headers["Content-Security-Policy"]
        if "frame-ancestors" not in policy:
            response.headers["Content-Security-Policy"] = f"{policy}; frame-ancestors 'none'"
        # The camera and the microphone for the meeting video's pages only (docs/video.md).
        response.headers.setdefault(
            "Permissions-Policy", CAMERA_PAGES_POLICY if request.endpoint in CAMERA_PAGES
            else NO_CAMERA_POLICY)
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security",
                                        "max-age=31536000; includeSubDomains")
        return response

    return app


def select_locale() -> str:
    """?lang=en|zh (remembered in a cookie), else the cookie, else SUNVOTE_LANGUAGE."""
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")
    if asked is not None and asked in languages:
        g.set_lang = asked
        return asked
    cookie = request.cookies.get("lang")
    if cookie is not None and cookie in languages:
        return cookie
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def configure_engine(engine: Any, busy_timeout_ms: int) -> None:
    """SQLite: WAL, foreign keys, a busy timeout, and transactions we begin ourselves so that a
    use case can open with BEGIN IMMEDIATE (the pysqlite driver would otherwise defer it)."""
    if engine.dialect.name != "sqlite":
        return
    from sunvote.services.unit_of_work import WRITE_OPTION

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let the begin hook below emit BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        write = connection.get_execution_options().get(WRITE_OPTION)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
