"""The `ciba_poll` scenario of `make bench`: the hotline's agent desk polling /token for a
request its caller has not answered yet (OpenID CIBA, urn:openid:params:grant-type:ciba).

Each poll authenticates the desk, reads the request and its approval, and counts the poll
in one Redis step. Every virtual user polls the same auth_req_id far faster than its
interval, so after the set-up's first poll every answer is `slow_down` (the same work as
`authorization_pending`, and the interval grows each time, as the spec says). The
summary gives its rate against client credentials measured in the same run.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from tests.bench.client import basic_auth
from tests.bench.measuring import SECONDS, fixed, measure
from tests.bench.servers import Idp, ServerError

CIBA_GRANT = "urn:openid:params:grant-type:ciba"
NAME = "ciba_poll"


def _post(idp: Idp, path: str, form: dict[str, str], auth: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{idp.url}{path}",
        data=urlencode(form).encode(),
        headers={"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def bench_ciba_poll(idp: Idp, results: list[dict[str, Any]]) -> None:
    """Register a desk, start a request for the bench person (made now: it lives ten
    minutes at most), poll it once, then measure the polling."""
    desk = json.loads(
        idp._idp(
            "client", "create", "--name", "bench-hotline-desk", "--channel", "hotline",
            "--grant-type", CIBA_GRANT, "--backchannel-token-delivery-mode", "poll",
            "--scope", "openid", "--json",
        )
    )  # fmt: skip
    auth = basic_auth(desk["client_id"], desk["client_secret"])
    asked = {"scope": "openid", "login_hint": "17000000009", "requested_expiry": "600"}
    status, body = _post(idp, "/backchannel_authenticate", asked, auth)
    if status != 200:
        raise ServerError(f"backchannel authentication request refused: {status} {body}")
    form = {"grant_type": CIBA_GRANT, "auth_req_id": body["auth_req_id"]}
    status, first = _post(idp, "/token", form, auth)
    if first.get("error") != "authorization_pending":
        raise ServerError(f"the first poll should wait: {status} {first}")
    spec = fixed(NAME, "POST", "/token", form=form, headers={"Authorization": auth})
    measure(idp, {**spec, "status": 400, "expect": '"slow_down"'}, SECONDS, results)


def summarise(scenarios: dict[str, Any]) -> None:
    """Polling against client credentials, both per core in the same run."""
    if NAME in scenarios and "client_credentials" in scenarios:
        ours, theirs = scenarios[NAME]["per_core"], scenarios["client_credentials"]["per_core"]
        scenarios[NAME]["client_credentials_per_core"] = theirs
        scenarios[NAME]["ratio_vs_client_credentials"] = round(ours / max(theirs, 1), 3)
