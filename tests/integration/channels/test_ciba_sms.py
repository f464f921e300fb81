"""The hotline's SMS read-back (idp/channels/hotline.py) for callers without the app: the
desk has a code sent to the caller's registered phone, the caller reads it out, the desk
submits it and then polls as for an app approval. At most loa:3 (amr sms + tel), whatever
the person's level; wrong codes run out and deny the request; only the hotline desk that
made the request may ask."""

from __future__ import annotations

import json
from typing import Any

import pytest

from idp import context
from idp.accounts import sms_codes
from idp.accounts.models import Person
from idp.authn.approvals import ApprovalRefusedError, ApprovalState
from idp.db import db
from idp.oidc import ciba_ping
from idp.oidc.runtime import oidc
from tests.integration.channels.ciba_support import (
    Desk,
    NotificationServer,
    answer,
    approval_of,
    audit_events,
    claims_of,
    poll,
    register_desk,
    started,
)

LOA3, LOA4 = "urn:cn:gov:idp:loa:3", "urn:cn:gov:idp:loa:4"


@pytest.fixture
def desk(app: Any) -> Desk:
    return register_desk(app)


def send(app: Any, desk: Desk, auth_req_id: str) -> Any:
    data = {"auth_req_id": auth_req_id}
    return app.test_client().post("/backchannel_authenticate/sms", data=data, headers=desk.basic)


def verify(app: Any, desk: Desk, auth_req_id: str, code: str) -> Any:
    data = {"auth_req_id": auth_req_id, "code": code}
    return app.test_client().post(
        "/backchannel_authenticate/sms/verify", data=data, headers=desk.basic
    )


def texts(app: Any, phone: str) -> list[str]:
    with app.app_context():
        return [m.params["code"] for m in context.connectors().sms.outbox(phone)]


def set_loa(app: Any, person_id: str, loa: int) -> None:
    with app.app_context():
        db.session.get(Person, person_id).loa = loa
        db.session.commit()


def error_of(response: Any) -> tuple[int, str]:
    return response.status_code, response.json["error"]


def test_a_code_read_back_signs_the_caller_in_at_loa3_at_most(
    app: Any, desk: Desk, person: dict[str, str]
) -> None:
    set_loa(app, person["id"], 4)  # a real person: still loa:3 by a code on the phone
    auth_req_id = started(app, desk, login_hint=person["phone"])
    sent = send(app, desk, auth_req_id)
    assert sent.status_code == 200, sent.json
    assert sent.json == {
        "auth_req_id": auth_req_id,
        "sent_to": "170****0101",
        "expires_in": sms_codes.CODE_TTL,
    }
    assert sent.headers["Cache-Control"] == "no-store"
    [code] = texts(app, person["phone"])
    wrong = verify(app, desk, auth_req_id, "000000" if code != "000000" else "111111")
    assert error_of(wrong) == (400, "invalid_code") and wrong.json["tries_left"] == 4
    assert error_of(poll(app, desk, auth_req_id)) == (400, "authorization_pending")
    right = verify(app, desk, auth_req_id, code)
    assert right.status_code == 200 and right.json == {"auth_req_id": auth_req_id, "approved": True}
    claims = claims_of(poll(app, desk, auth_req_id).json["id_token"])
    assert (claims["acr"], claims["amr"]) == (LOA3, ["sms", "tel"])
    with app.app_context():  # the same person for the desk as by an app approval
        assert claims["sub"] == oidc().tokens.subject(
            person["id"], oidc().clients.get(desk.client_id)
        )
    with app.app_context():
        [session] = context.sessions().list_for_person(person["id"])
    assert (session.channel, session.device) == ("hotline", None)
    # the code is spent, the request answered: neither works again
    assert error_of(verify(app, desk, auth_req_id, code)) == (400, "invalid_request")
    assert len(audit_events(app, "person:hotline_code:verified")) == 1


def test_wrong_codes_run_out_and_deny_the_request(
    app: Any, desk: Desk, person: dict[str, str]
) -> None:
    auth_req_id = started(app, desk, login_hint=person["phone"])
    assert send(app, desk, auth_req_id).status_code == 200
    [code] = texts(app, person["phone"])
    guess = "000000" if code != "000000" else "111111"
    left = [verify(app, desk, auth_req_id, guess).json.get("tries_left") for _ in range(4)]
    assert left == [4, 3, 2, 1]
    last = verify(app, desk, auth_req_id, guess)
    assert error_of(last) == (403, "access_denied")
    # the right code comes too late, the app can no longer approve, the desk is told
    assert error_of(verify(app, desk, auth_req_id, code)) == (400, "invalid_request")
    assert approval_of(app, auth_req_id).state == ApprovalState.denied
    with pytest.raises(ApprovalRefusedError):
        answer(app, auth_req_id)
    assert error_of(poll(app, desk, auth_req_id)) == (400, "access_denied")
    assert error_of(send(app, desk, auth_req_id)) == (400, "invalid_request")
    assert len(texts(app, person["phone"])) == 1


def test_a_loa4_request_is_never_satisfied_by_a_code(
    app: Any, desk: Desk, person: dict[str, str]
) -> None:
    set_loa(app, person["id"], 4)
    auth_req_id = started(app, desk, login_hint=person["phone"], acr_values=LOA4)
    refused = send(app, desk, auth_req_id)
    assert error_of(refused) == (400, "unmet_authentication_requirements")
    assert "approve in the app" in refused.json["error_description"]
    assert texts(app, person["phone"]) == []  # no code was sent
    # and had sms + tel been proven some other way, the checks at /token refuse it too
    answer(app, auth_req_id, amr=("sms", "tel"))
    denied = poll(app, desk, auth_req_id)
    assert error_of(denied) == (400, "access_denied")
    assert "does not meet the request" in denied.json["error_description"]


def test_only_the_hotline_desk_that_asked_may_have_codes_sent(
    app: Any, desk: Desk, person: dict[str, str]
) -> None:
    auth_req_id = started(app, desk, login_hint=person["phone"])
    other = register_desk(app)
    assert error_of(send(app, other, auth_req_id)) == (400, "invalid_grant")
    assert error_of(verify(app, other, auth_req_id, "123456")) == (400, "invalid_grant")
    web_desk = register_desk(app, channel="web")
    web_request = started(app, web_desk, login_hint=person["phone"])
    assert error_of(send(app, web_desk, web_request)) == (400, "unauthorized_client")
    wrong = Desk(desk.client_id, "not-the-secret")
    assert error_of(send(app, wrong, auth_req_id)) == (401, "invalid_client")
    assert error_of(verify(app, desk, auth_req_id, "123456")) == (400, "invalid_request")
    assert texts(app, person["phone"]) == []


def test_codes_per_request_and_per_phone_are_limited(
    app: Any, desk: Desk, person: dict[str, str]
) -> None:
    auth_req_id = started(app, desk, login_hint=person["phone"])
    assert send(app, desk, auth_req_id).status_code == 200
    assert error_of(send(app, desk, auth_req_id)) == (429, "too_many_codes")  # a minute apart
    assert len(texts(app, person["phone"])) == 1


def test_a_ping_desk_is_told_when_the_code_is_read_back(app: Any, person: dict[str, str]) -> None:
    notified = NotificationServer()
    try:
        desk = register_desk(
            app, mode="ping", backchannel_client_notification_endpoint=notified.url
        )
        auth_req_id = started(
            app, desk, login_hint=person["phone"], client_notification_token="desk-secret-8e1f"
        )
        assert send(app, desk, auth_req_id).status_code == 200
        [code] = texts(app, person["phone"])
        assert verify(app, desk, auth_req_id, code).status_code == 200
        assert notified.arrived.wait(10) and ciba_ping.wait_idle(10)
        assert json.loads(notified.received[0]["body"]) == {"auth_req_id": auth_req_id}
        assert "id_token" in poll(app, desk, auth_req_id).json
    finally:
        notified.close()
