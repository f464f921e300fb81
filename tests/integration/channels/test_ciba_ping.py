"""CIBA's ping mode (idp/oidc/ciba_ping.py): when the caller answers, the desk's
notification endpoint (a real HTTP server here) is told, with the desk's bearer token;
a refused ping is not sent again and the desk may still poll."""

from __future__ import annotations

import json
from typing import Any

from idp.oidc import ciba_ping
from tests.integration.channels.ciba_support import (
    NotificationServer,
    answer,
    audit_events,
    poll,
    register_desk,
    started,
)


def error_of(response: Any) -> tuple[int, str]:
    return response.status_code, response.json["error"]


def test_a_ping_desk_is_told_when_the_caller_answers(app: Any, person: dict[str, str]) -> None:
    notified = NotificationServer()
    try:
        desk = register_desk(
            app, mode="ping", backchannel_client_notification_endpoint=notified.url
        )
        auth_req_id = started(
            app, desk, login_hint=person["phone"], client_notification_token="desk-secret-8e1f"
        )
        assert not notified.received
        answer(app, auth_req_id)
        assert notified.arrived.wait(10) and ciba_ping.wait_idle(10)
        [ping] = notified.received
        assert ping["headers"]["Authorization"] == "Bearer desk-secret-8e1f"
        assert ping["headers"]["Content-Type"] == "application/json"
        assert json.loads(ping["body"]) == {"auth_req_id": auth_req_id}
        assert "id_token" in poll(app, desk, auth_req_id).json  # then the tokens, at once
        [row] = audit_events(app, "rp:ciba_ping:delivered")
        assert row.detail == {"client_id": desk.client_id, "attempts": 1, "status": 204}
    finally:
        notified.close()


def test_a_ping_refused_is_not_sent_again_and_the_desk_may_still_poll(
    app: Any, person: dict[str, str]
) -> None:
    notified = NotificationServer(status=401)
    try:
        desk = register_desk(
            app, mode="ping", backchannel_client_notification_endpoint=notified.url
        )
        auth_req_id = started(
            app, desk, login_hint=person["phone"], client_notification_token="desk-secret-8e1f"
        )
        answer(app, auth_req_id, approve=False)
        assert notified.arrived.wait(10) and ciba_ping.wait_idle(10)
        assert len(notified.received) == 1
        [row] = audit_events(app, "rp:ciba_ping:failed")
        assert row.detail["status"] == 401
        assert error_of(poll(app, desk, auth_req_id)) == (400, "access_denied")
    finally:
        notified.close()
