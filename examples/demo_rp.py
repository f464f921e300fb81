"""A tiny relying party (接入系统) for the demo: signs in through the provider with
OpenID Connect (code + PKCE, via Authlib's client) and shows the ID token's claims.

Copy it freely. Every way a sign-in can fail ends on a page in Chinese that says what
to do, with a link to try again (`FAILURES` below), never on "Internal Server Error":
the provider's error redirect (the person pressed 拒绝, or prompt=none found no
session...), a token endpoint error, a state that does not match, an ID token that does
not validate, and a provider that does not answer.

`make run` starts it at http://127.0.0.1:8001 beside the provider. It reads its client
registration from `<instance>/demo_rp.json`, which `idp demo seed` writes.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
from pathlib import Path
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, redirect, render_template_string, session, url_for

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>演示应用 · Demo RP</title><style>
body{font:16px/1.6 sans-serif;max-width:48rem;margin:2rem auto;color:#1f2329}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
a.button{display:inline-block;padding:.5rem 1.2rem;background:#c4161c;color:#fff;
text-decoration:none;border-radius:4px}</style></head><body>
<h1>演示应用（社保查询）· Demo relying party</h1>
{% if failure %}
  <div id="failure" role="alert"><h2>登录未完成</h2><p>{{ failure.message }}</p>
  <p><small>错误代码（供技术人员排查）：{{ failure.code }}
  {%- if failure.description %}（{{ failure.description }}）{% endif %}</small></p></div>
  <p><a class="button" id="retry" href="{{ url_for('login') }}">重新登录 · Try again</a></p>
{% elif claims %}
  <p>已通过统一身份认证平台登录 · Signed in through the provider.</p>
  <table id="claims"><tr><th>claim</th><th>value</th></tr>
  {% for k, v in claims.items() %}<tr><td>{{ k }}</td><td data-claim="{{ k }}">{{ v }}</td></tr>{% endfor %}
  </table>
  <p><a class="button" href="{{ url_for('logout') }}">退出 · Sign out</a></p>
{% else %}
  <p><a class="button" id="signin" href="{{ url_for('login') }}">使用统一身份认证登录 · Sign in</a></p>
{% endif %}
</body></html>"""

# What the person is told for each error (OAuth 2.0 4.1.2.1, OpenID Core 3.1.2.6, RFC 6749
# 5.2), and for what goes wrong on our side of the exchange.
SIGN_IN_AGAIN = "需要您在统一身份认证平台登录或确认后才能继续，请点击“重新登录”。"
FAILURES = {
    "access_denied": "您已拒绝授权，本应用没有获得您的任何信息。如需继续办理，请点击“重新登录”并选择“同意”。",
    "login_required": SIGN_IN_AGAIN,
    "consent_required": SIGN_IN_AGAIN,
    "interaction_required": SIGN_IN_AGAIN,
    "account_selection_required": SIGN_IN_AGAIN,
    "unmet_authentication_requirements": "本业务需要更高的可信等级（如实名认证），请先在统一身份认证平台的个人中心完成认证，再重新登录。",
    "temporarily_unavailable": "统一身份认证平台暂时繁忙，请稍后点击“重新登录”。",
    "server_error": "统一身份认证平台暂时出现故障，请稍后点击“重新登录”。",
    "mismatching_state": "本次登录已失效或并非从本页面发起（例如停留过久或打开了多个窗口），为保障安全未予登录。请点击“重新登录”。",
    "invalid_id_token": "无法核验平台返回的身份信息，为保障安全未予登录。请重新登录；如仍失败，请联系本应用客服。",
    "provider_unreachable": "暂时无法连接统一身份认证平台，请检查网络或稍后点击“重新登录”。",
}
# invalid_request, invalid_client, invalid_grant, invalid_scope, unauthorized_client...:
# this application's request or registration is wrong, nothing the person can fix.
OUR_MISTAKE = "本应用的登录请求未被受理，这不是您的操作问题。请稍后重新登录；如仍失败，请将下方错误代码告知本应用客服。"


def create_app(registration: dict[str, Any]) -> Flask:
    app = Flask(__name__)
    app.secret_key = secrets.token_hex(32)
    app.config["SESSION_COOKIE_NAME"] = "demo_rp"
    oauth = OAuth(app)
    oauth.register(
        "idp",
        client_id=registration["client_id"],
        client_secret=registration["client_secret"],
        server_metadata_url=f"{registration['issuer']}/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid profile phone realname org",
            "code_challenge_method": "S256",
        },
    )
    base = registration["url"]

    @app.get("/")
    def home() -> str:
        return render_template_string(PAGE, claims=session.get("claims"))

    @app.get("/login")
    def login() -> Any:
        return oauth.idp.authorize_redirect(f"{base}/callback")

    @app.get("/callback")
    def callback() -> Any:
        token = oauth.idp.authorize_access_token()  # checks state, PKCE, ID token, iss
        # The ID token proves the sign-in; profile claims come from the userinfo endpoint.
        session["claims"] = {**token["userinfo"], **oauth.idp.userinfo(token=token)}
        session["id_token"] = token["id_token"]
        return redirect(url_for("home"))

    def failed(code: str, description: str | None, status: int) -> tuple[str, int]:
        app.logger.warning("sign-in failed: %s (%s)", code, description)
        failure = {
            "message": FAILURES.get(code, OUR_MISTAKE),
            "code": code,
            "description": (description or "")[:200],
        }
        return render_template_string(PAGE, failure=failure), status

    @app.errorhandler(OAuthError)  # an error redirect, a token endpoint error, a bad state
    def oauth_error(e: OAuthError) -> tuple[str, int]:
        return failed(e.error or "server_error", e.description, 400)

    @app.errorhandler(AuthlibBaseError)  # any other: the ID token's signature, iss, aud, exp, nonce
    def id_token_invalid(e: AuthlibBaseError) -> tuple[str, int]:
        return failed("invalid_id_token", e.error, 400)

    @app.errorhandler(requests.RequestException)  # the provider did not answer
    def provider_unreachable(e: requests.RequestException) -> tuple[str, int]:
        return failed("provider_unreachable", type(e).__name__, 502)

    @app.get("/logout")
    def logout() -> Any:
        id_token = session.pop("id_token", None)
        session.clear()
        end = oauth.idp.load_server_metadata()["end_session_endpoint"]
        params = f"?post_logout_redirect_uri={base}/&client_id={registration['client_id']}"
        if id_token:
            params += f"&id_token_hint={id_token}"
        return redirect(end + params)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instance", default=os.environ.get("IDP_INSTANCE_DIR", "instance"))
    args = parser.parse_args()
    registration = json.loads((Path(args.instance) / "demo_rp.json").read_text())
    port = int(registration["url"].rsplit(":", 1)[1])
    create_app(registration).run(host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
