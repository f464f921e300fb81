"""WSGI entry point: `create_app()` builds the provider from configuration."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import admin
from config import Settings, load_settings
from connectors import factory
from connectors.factory import Endpoint
from idp import audit, web
from idp import db as database
from idp.accounts.services import Accounts
from idp.accounts.sessions import SessionStore
from idp.accounts.throttle import LoginThrottle
from idp.authn import closing, sign_out
from idp.authn.approvals import ApprovalKind, listen
from idp.channels import app as app_channel
from idp.channels import hotline
from idp.channels import kiosk as kiosk_channel
from idp.context import Connectors
from idp.crypto.passwords import PasswordHasher
from idp.crypto.pii import PiiSealer
from idp.keys import KeyRing
from idp.keys import init_app as init_keys
from idp.oidc import ciba_ping
from idp.oidc import endpoints as oidc_endpoints
from idp.oidc import runtime as oidc_runtime
from idp.oidc.account_closed import OidcAccountClosed
from idp.oidc.machine.app import MachineEndpoints
from idp.oidc.runtime import Oidc
from idp.oidc.sign_out import OidcSignOut
from idp.store import ArtifactStore, redis_client
from idp.store import embedded as embedded_redis
from idp.web import authorize as web_authorize

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

WEB = Path(web.__file__).parent


def create_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    settings = config if isinstance(config, Settings) else load_settings(config)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)

    app = Flask(
        "idp",
        template_folder=WEB / "templates",
        static_folder=WEB / "static",
        instance_path=settings.instance_dir,
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="idp_state",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        MAX_CONTENT_LENGTH=1024 * 1024,
        WTF_CSRF_TIME_LIMIT=3600,
        WTF_CSRF_SSL_STRICT=settings.secure_cookies,
        BABEL_TRANSLATION_DIRECTORIES=str(WEB / "translations"),
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        PREFERRED_URL_SCHEME="https" if settings.secure_cookies else "http",
    )
    app.extensions["idp.settings"] = settings
    database.init_app(app, settings.database_url)
    audit.init_app(app, settings)  # signed checkpoints of the audit chain
    store = ArtifactStore(lambda: redis_client(_redis_url(settings)))
    app.extensions["idp.store"] = store
    app.extensions["idp.accounts"] = Accounts(
        PasswordHasher(
            settings.password_time_cost, settings.password_memory_kib, settings.password_parallelism
        ),
        PiiSealer(bytes.fromhex(settings.pii_seal_key), bytes.fromhex(settings.pii_index_key)),
    )
    app.extensions["idp.sessions"] = SessionStore(
        store,
        settings.session_idle_timeout,
        settings.session_absolute_timeout,
        channel_idle={"kiosk": settings.kiosk_idle_timeout},
    )
    app.extensions["idp.throttle"] = LoginThrottle(
        store,
        max_failures=settings.login_max_failures,
        lockout_seconds=settings.login_lockout_seconds,
        address_max_failures=settings.login_address_max_failures,
        address_window=settings.login_address_window,
    )

    app.extensions["idp.connectors"] = _connectors(settings)
    keys = init_keys(app, settings)
    runtime = oidc_runtime.init_app(
        app, settings, keys=keys, store=store, accounts=app.extensions["idp.accounts"]
    )
    web.init_app(app)
    sign_out.listen(app, OidcSignOut(runtime.artifacts))  # grants, back-channel logout
    closing.listen(app, OidcAccountClosed(runtime.artifacts))  # every RP hears of a closure
    web.csrf.exempt(oidc_endpoints.bp)  # RPs authenticate themselves; no browser forms
    web.csrf.exempt(web_authorize.start_posted)  # only forwards to GET /authorize
    app.register_blueprint(oidc_endpoints.bp)
    web.csrf.exempt(app_channel.bp)  # the app signs each request with its device key
    app.register_blueprint(app_channel.bp)
    web.csrf.exempt(hotline.bp)  # the agent desk authenticates as an OAuth client
    app.register_blueprint(hotline.bp)
    kiosk_channel.init_app(app, runtime.server)  # the card + face rules the JWT bearer grant asks
    web.csrf.exempt(kiosk_channel.bp)  # a kiosk authenticates with its key (private_key_jwt)
    app.register_blueprint(kiosk_channel.bp)
    listen(app, ApprovalKind.ciba, ciba_ping.on_answer)  # ping-mode desks are told at once
    admin.init_app(app)
    front = _front_layers(app, settings, keys, runtime)
    app.wsgi_app = front  # type: ignore[method-assign,assignment]
    return app


def _front_layers(app: Flask, settings: Settings, keys: KeyRing, runtime: Oidc) -> WSGIApplication:
    """What stands in front of Flask, outermost first: ProxyFix (behind trusted proxies, so
    that everything inside sees the client's scheme and host), then the protocol answers
    built without Flask: discovery and JWKS, then the machine-to-machine endpoints (token,
    introspection, revocation), mounted beside Flask."""
    front: WSGIApplication = app.wsgi_app
    front = MachineEndpoints(
        front,
        server=runtime.server,
        secure=settings.secure_cookies,
        max_body=app.config["MAX_CONTENT_LENGTH"],
        trusted_hosts=app.config["TRUSTED_HOSTS"],
    )
    front = oidc_endpoints.PublishedDocuments(
        front, issuer=settings.issuer, keys=keys, secure=settings.secure_cookies
    )
    if settings.trusted_proxies:
        front = ProxyFix(
            front,
            x_for=settings.trusted_proxies,
            x_proto=settings.trusted_proxies,
            x_host=settings.trusted_proxies,
        )
    return front


def _connectors(settings: Settings) -> Connectors:
    """The registries and gateways named by configuration (fake: synthetic, in memory)."""
    vendor, key = settings.connectors_vendor, bytes.fromhex(settings.connectors_key)

    def endpoint(url: str) -> Endpoint:
        return Endpoint(url, key, float(settings.connectors_timeout))

    return Connectors(
        population=factory.population_registry(vendor, endpoint(settings.population_registry_url)),
        enterprise=factory.enterprise_registry(vendor, endpoint(settings.enterprise_registry_url)),
        sms=factory.sms_gateway(vendor, endpoint(settings.sms_gateway_url)),
        face=factory.face_verifier(vendor, endpoint(settings.face_verifier_url)),
    )


def _redis_url(settings: Settings) -> str:
    if settings.embedded_redis:
        return embedded_redis.ensure_running(settings.instance_path)
    return settings.redis_url
