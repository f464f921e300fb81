"""A tiny relying party (接入系统) for the demo: signs in through the provider with
OpenID Connect (code + PKCE, via Authlib's client) and shows the ID token's claims.

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

from authlib.integrations.flask_client import OAuth
from flask import Flask, redirect, render_template_string, session, url_for

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>演示应用 · Demo RP</title><style>
body{font:16px/1.6 sans-serif;max-width:48rem;margin:2rem auto;color:#1f2329}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
a.button{display:inline-block;padding:.5rem 1.2rem;background:#c4161c;color:#fff;
text-decoration:none;border-radius:4px}</style></head><body>
<h1>演示应用（社保查询）· Demo relying party</h1>
{% if claims %}
  <p>已通过统一身份认证平台登录 · Signed in through the provider.</p>
  <table id="claims"><tr><th>claim</th><th>value</th></tr>
  {% for k, v in claims.items() %}<tr><td>{{ k }}</td><td data-claim="{{ k }}">{{ v }}</td></tr>{% endfor %}
  </table>
  <p><a class="button" href="{{ url_for('logout') }}">退出 · Sign out</a></p>
{% else %}
  <p><a class="button" id="signin" href="{{ url_for('login') }}">使用统一身份认证登录 · Sign in</a></p>
{% endif %}
</body></html>"""


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
