"""After any sign-in method succeeded (password, SMS code, QR): the browser's new session,
and back to whatever asked for the sign-in. One place, so that every method ends alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import g, redirect, session, url_for

from idp.accounts.sessions import SsoSession
from idp.flows import logout
from idp.web import account_changes
from idp.web.security import safe_next, start_sso_cookie
from idp.web.transactions import Page, account_sign_in, resume_by_id, start


def hand_off(token: str, sso: SsoSession, *, txn_id: str | None, next_url: str | None) -> Page:
    if g.sso is not None:  # signing in again in this browser replaces the old session
        logout.sign_out(g.sso, reason="replaced")
    start_sso_cookie(token)
    session.pop("csrf_token", None)  # a new CSRF secret for the signed-in session
    # The sign-in hands back to the transaction that asked for it (by id); a sign-in no
    # service asked for is the account centre's own, through the same checks. With a
    # closure pending, the person is first offered to keep the account, then goes on.
    if txn_id:
        onward = url_for("signin.resume", txn_id=txn_id)
        closing = account_changes.after_sign_in(sso.person_id, onward)
        return redirect(closing, 303) if closing else resume_by_id(txn_id, sso, posted=True)
    destination = next_url or url_for("account.overview")
    page = start(account_sign_in(destination), sso)
    closing = account_changes.after_sign_in(sso.person_id, destination)
    if closing and getattr(page, "location", None) == destination:  # no other step first
        return redirect(closing, 303)
    return page


MAX_TXN_ID = 64
TABS = ("person", "org")  # 个人用户, 法人用户: the wording only, never who may sign in
METHODS = ("password", "sms", "qr")  # 账号密码, 短信验证码, 扫码登录


def txn_id_of(values: Mapping[str, str]) -> str | None:
    txn_id = values.get("txn", "")
    return txn_id if 0 < len(txn_id) <= MAX_TXN_ID and txn_id.isprintable() else None


def tab_of(values: Mapping[str, str]) -> str:
    tab = values.get("tab", "")
    return tab if tab in TABS else TABS[0]


def login_again(form: Mapping[str, str], **args: Any) -> str:
    """The sign-in page again after a posted form, with what the form carried (the
    transaction, where to go next, the tab) and `args` (the method, its step)."""
    tab = tab_of(form)
    return url_for(
        "web.login_form",
        txn=txn_id_of(form),
        next=safe_next(form.get("next")),
        tab=tab if tab != TABS[0] else None,
        **args,
    )
