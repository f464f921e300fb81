"""Pages people see: sign-in, sign-out, account centre, error pages; zh-CN first, English."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from flask import Flask, abort, g, request
from flask_babel import Babel
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFProtect

from idp.web import (
    account,
    account_changes,
    authorize,
    device,
    errors,
    organizations,
    pages,
    qr,
    recover,
    register,
    requester,
    sms_login,
    step_up,
    transactions,
)
from idp.web.i18n import display_mode, remember_choices, select_locale
from idp.web.security import apply_cookies_and_headers, load_sso_session

CHINA_TIME = timezone(timedelta(hours=8), "CST")  # no daylight saving since 1991

csrf = CSRFProtect()
babel = Babel()


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(account_changes.bp)
    app.register_blueprint(authorize.bp)
    app.register_blueprint(transactions.bp)
    app.register_blueprint(device.bp)
    app.register_blueprint(step_up.bp)
    app.register_blueprint(register.bp)
    app.register_blueprint(recover.bp)
    app.register_blueprint(organizations.bp)
    app.register_blueprint(qr.bp)
    app.register_blueprint(sms_login.bp)
    app.register_blueprint(requester.bp)
    errors.init_app(app)
    app.url_value_preprocessor(refuse_impossible_ids)
    app.before_request(load_sso_session)
    app.after_request(apply_cookies_and_headers)
    app.after_request(remember_choices)

    @app.template_global()
    def with_arg(name: str, value: str) -> str:
        """This page's URL with one query argument changed (keeps `next` and the rest)."""
        args = request.args.to_dict(flat=False)
        args[name] = [value]
        return f"{request.path}?{urlencode(args, doseq=True)}"

    @app.template_global()
    def claim_label(claim: str) -> str:
        """What a claim means, in the person's language (consent page, account centre)."""
        labels = {
            "name": _("Name"),
            "preferred_username": _("User name"),
            "phone_number": _("Mobile number"),
            "phone_number_verified": _("Whether the mobile number is verified"),
            "updated_at": _("When your profile last changed"),
            "real_name_verified": _("Whether your real name is verified"),
            "loa": _("Your assurance level"),
            "id_type": _("Your certificate type"),
            "id_number": _("Your ID number"),
            "org": _("The organisation you act for"),
            "acr": _("Authentication level and method"),
            "amr": _("Authentication level and method"),
            "auth_time": _("Authentication level and method"),
        }
        return str(labels.get(claim, claim))

    @app.template_filter("datetime_local")
    def datetime_local(epoch: int) -> str:
        return datetime.fromtimestamp(epoch, CHINA_TIME).strftime("%Y-%m-%d %H:%M")

    @app.context_processor
    def page_context() -> dict[str, object]:
        from flask_babel import get_locale

        locale = str(get_locale() or "zh")
        return {
            "lang": locale,
            "html_lang": "zh-CN" if locale == "zh" else "en",
            "mode": display_mode(),
            "signed_in": g.get("sso") is not None,
        }


MAX_PATH_ID = 128  # longer than any id we make (uuids, flow ids, client ids)


def refuse_impossible_ids(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Ids in paths come from our own links. One that no column can hold (a NUL, which
    PostgreSQL refuses with an error, a control character, or longer than any id) names
    nothing: 404, before any view looks it up."""
    for value in (values or {}).values():
        if isinstance(value, str) and (not value.isprintable() or len(value) > MAX_PATH_ID):
            abort(404)
