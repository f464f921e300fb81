"""OpenID CIBA Core 1.0 at the hotline (idp/oidc/ciba.py, idp/oidc/grants/ciba.py,
idp/oidc/ciba_ping.py): an agent desk asks, the caller approves in the app, the desk
gets tokens for the caller; every error of sections 11 and 13 in its place, from the
attacker's side too (polling too fast, another desk's auth_req_id, a second redemption,
a denied or expired request, a login_hint that names nobody)."""

from __future__ import annotations

import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey

from idp import context
from idp.accounts.models import Person
from idp.authn.approvals import ApprovalRefusedError, Approvals, ApprovalState
from idp.db import db
from idp.oidc import ciba, ciba_requests
from idp.oidc.features import CIBA_GRANT
from idp.oidc.runtime import oidc
from tests.integration.channels.ciba_support import (
    Desk,
    answer,
    approval_of,
    audit_events,
    claims_of,
    enrol_device,
    poll,
    register_desk,
    request_of,
    start,
    started,
)

ID_NUMBER = "11010519491231002X"  # synthetic, with a right check digit
LOA2, LOA4 = "urn:cn:gov:idp:loa:2", "urn:cn:gov:idp:loa:4"


@pytest.fixture
def desk(app: Any) -> Desk:
    return register_desk(app)


def set_person(app: Any, person_id: str, **fields: Any) -> None:
    with app.app_context():
        found = db.session.get(Person, person_id)
        for name, value in fields.items():
            setattr(found, name, value)
        db.session.commit()


def subject(app: Any, person_id: str, desk: Desk) -> str:
    with app.app_context():
        return oidc().tokens.subject(person_id, oidc().clients.get(desk.client_id))


def error_of(response: Any) -> tuple[int, str]:
    return response.status_code, response.json["error"]


# -- the journey --------------------------------------------------------------------------
def test_discovery_advertises_ciba(client: Any) -> None:
    document = client.get("/.well-known/openid-configuration").json
    issuer = document["issuer"]
    assert document["backchannel_authentication_endpoint"] == f"{issuer}/backchannel_authenticate"
    assert document["backchannel_token_delivery_modes_supported"] == ["poll", "ping"]
    assert document["backchannel_user_code_parameter_supported"] is True
    assert CIBA_GRANT in document["grant_types_supported"]


def test_the_caller_approves_in_the_app_and_the_desk_gets_tokens(
    app: Any, desk: Desk, person: dict[str, str]
) -> None:
    response = start(
        app,
        desk,
        scope="openid profile",
        login_hint="+86 170-0000-0101",
        binding_message="工单 4711",
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert set(body) == {"auth_req_id", "expires_in", "interval"}
    assert (body["expires_in"], body["interval"]) == (ciba.DEFAULT_EXPIRY, ciba_requests.INTERVAL)
    auth_req_id = body["auth_req_id"]

    # shown in the caller's app at once, with who asks and the binding message
    with app.app_context():
        shown = Approvals(context.store()).pending_for(person["id"])
    assert [(a.kind, a.client_name, a.binding_message) for a in shown] == [
        ("ciba", "12345 热线坐席", "工单 4711")
    ]

    assert error_of(poll(app, desk, auth_req_id)) == (400, "authorization_pending")
    device_id = enrol_device(app, person["id"], "Alice 的手机")
    answer(app, auth_req_id, amr=("swk",), device_id=device_id)
    tokens = poll(app, desk, auth_req_id)
    assert tokens.status_code == 200, tokens.json
    claims = claims_of(tokens.json["id_token"])
    assert claims["sub"] == subject(app, person["id"], desk)
    assert (claims["aud"], claims["acr"], claims["amr"]) == (desk.client_id, LOA2, ["swk"])
    assert tokens.json["scope"] == "openid profile"
    userinfo = app.test_client().get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens.json['access_token']}"}
    )
    assert userinfo.json["preferred_username"] == person["username"]

    # the session is the caller's on the hotline, named after the device that approved
    with app.app_context():
        sessions = context.sessions().list_for_person(person["id"])
    assert [(s.channel, s.device, s.amr) for s in sessions] == [
        ("hotline", "Alice 的手机", ["swk"])
    ]
    # once: a second redemption, and an answer after it, get nothing
    assert error_of(poll(app, desk, auth_req_id)) == (400, "invalid_grant")
    assert approval_of(app, auth_req_id).state == ApprovalState.consumed
    assert len(audit_events(app, "client:ciba:requested")) == 1
    [issued] = audit_events(app, "client:ciba_tokens:issued")
    assert issued.person_id == person["id"] and issued.detail["amr"] == ["swk"]


def test_a_face_check_in_the_app_reaches_loa4_for_an_id_number(
    app: Any, desk: Desk, person: dict[str, str]
) -> None:
    with app.app_context():
        index = context.accounts().sealer.blind_index("id:resident", ID_NUMBER)
    set_person(app, person["id"], loa=4, id_number_index=index)
    # the key alone proves loa:3 at most: a request for loa:4 is refused, saying why
    key_only = started(app, desk, login_hint=ID_NUMBER.lower(), acr_values=LOA4)
    answer(app, key_only, amr=("swk",))
    refused = poll(app, desk, key_only)
    assert error_of(refused) == (400, "access_denied")
    assert "does not meet the request" in refused.json["error_description"]
    assert error_of(poll(app, desk, key_only)) == (400, "access_denied")  # and stays so

    with_face = started(app, desk, login_hint=ID_NUMBER, acr_values=LOA4)
    answer(app, with_face, amr=("swk", "face"))
    claims = claims_of(poll(app, desk, with_face).json["id_token"])
    assert (claims["acr"], claims["amr"]) == (LOA4, ["swk", "face"])


# -- what the desk is told while it waits -------------------------------------------------
def test_polling_faster_than_the_interval_slows_the_desk_down(
    app: Any, desk: Desk, person: dict[str, str]
) -> None:
    auth_req_id = started(app, desk, login_hint=person["phone"])
    assert error_of(poll(app, desk, auth_req_id)) == (400, "authorization_pending")
    too_soon = poll(app, desk, auth_req_id)
    assert error_of(too_soon) == (400, "slow_down")
    assert "every 10 s" in too_soon.json["error_description"]
    again = poll(app, desk, auth_req_id)  # the interval grows each time
    assert error_of(again) == (400, "slow_down") and "every 15 s" in again.json["error_description"]
    assert request_of(app, auth_req_id).interval == 15
    answer(app, auth_req_id)  # once answered, the desk is told at once, however soon
    assert poll(app, desk, auth_req_id).status_code == 200


def test_a_denied_request_gets_access_denied(app: Any, desk: Desk, person: dict[str, str]) -> None:
    auth_req_id = started(app, desk, login_hint=person["phone"])
    answer(app, auth_req_id, approve=False)
    for _ in range(2):
        denied = poll(app, desk, auth_req_id)
        assert error_of(denied) == (400, "access_denied")
        assert denied.json["error_description"] == "the person denied the request"
    assert len(audit_events(app, "client:ciba:denied")) == 1


def test_an_expired_request_gets_expired_token(
    app: Any, desk: Desk, person: dict[str, str]
) -> None:
    auth_req_id = started(app, desk, login_hint=person["phone"], requested_expiry="1")
    time.sleep(1.1)
    assert error_of(poll(app, desk, auth_req_id)) == (400, "expired_token")
    with pytest.raises(ApprovalRefusedError):  # the app cannot approve it any more
        answer(app, auth_req_id)
    assert error_of(poll(app, desk, auth_req_id)) == (400, "expired_token")


def test_another_desks_auth_req_id_is_unknown_to_it(
    app: Any, desk: Desk, person: dict[str, str]
) -> None:
    other = register_desk(app)
    auth_req_id = started(app, desk, login_hint=person["phone"])
    assert error_of(poll(app, other, auth_req_id)) == (400, "invalid_grant")
    assert error_of(poll(app, other, auth_req_id)) == (400, "invalid_grant")  # no slow_down
    answer(app, auth_req_id)
    assert error_of(poll(app, other, auth_req_id)) == (400, "invalid_grant")
    assert error_of(poll(app, desk, "x" * 43)) == (400, "invalid_grant")
    assert poll(app, desk, auth_req_id).status_code == 200  # the owner's tokens untouched


# -- who may be asked ---------------------------------------------------------------------
def test_a_login_hint_naming_nobody_reveals_nothing_else(
    app: Any, desk: Desk, person: dict[str, str]
) -> None:
    inactive = "17000000102"
    with app.app_context():
        other = context.accounts().create_person(
            db.session, username="bob", phone=inactive, password="teapot-harbour-2027"
        )
        other.status = "disabled"
        db.session.commit()
    answers = [
        start(app, desk, login_hint=hint)
        for hint in (
            "17000000999",  # nobody has it
            "1700000010",  # one digit short
            "11010519491231002X",  # a well-formed ID number nobody has
            person["username"],  # a user name is not a phone or ID number
            inactive,  # an account that may not sign in
            "\x00" + person["phone"],
        )
    ]
    bodies = {(a.status_code, a.get_data(as_text=True)) for a in answers}
    assert bodies == {
        (400, json.dumps({"error": "unknown_user_id", "error_description": ciba.UNKNOWN_USER}))
    }
    assert len({tuple(sorted((k, v) for k, v in a.headers if k != "Date")) for a in answers}) == 1
    assert len(audit_events(app, "client:ciba:refused")) == len(answers)


def test_a_desk_naming_nobody_too_often_is_stopped_for_a_while(
    app: Any, desk: Desk, person: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ciba, "MAX_UNKNOWN", 3)
    for n in range(3):
        assert error_of(start(app, desk, login_hint=f"1700000099{n}")) == (400, "unknown_user_id")
    # then even a real caller: the desk is not a directory of who is registered
    assert error_of(start(app, desk, login_hint=person["phone"])) == (403, "access_denied")
    assert start(app, register_desk(app), login_hint=person["phone"]).status_code == 200


def test_polls_at_once_after_the_approval_get_one_set_of_tokens(
    app: Any, desk: Desk, person: dict[str, str]
) -> None:
    auth_req_id = started(app, desk, login_hint=person["phone"])
    answer(app, auth_req_id)
    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(lambda _: poll(app, desk, auth_req_id).status_code, range(4)))
    assert statuses == [200, 400, 400, 400]
    with app.app_context():
        assert len(context.sessions().list_for_person(person["id"])) == 1


def test_requests_waiting_on_one_person_are_bounded(
    app: Any, desk: Desk, person: dict[str, str]
) -> None:
    for _ in range(ciba.MAX_OPEN_PER_PERSON):
        started(app, desk, login_hint=person["phone"])
    assert error_of(start(app, desk, login_hint=person["phone"])) == (403, "access_denied")


# -- section 13's errors, each in its place -----------------------------------------------
@pytest.mark.parametrize(
    "params, expected",
    [
        ({"scope": ""}, "invalid_request"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"scope": "openid idcard"}, "invalid_scope"),  # not registered for this desk
        ({"login_hint": ""}, "invalid_request"),
        ({"id_token_hint": "a.b.c"}, "invalid_request"),  # two hints
        ({"login_hint": "", "login_hint_token": "a.b.c"}, "invalid_request"),  # unsupported
        ({"login_hint": "", "id_token_hint": "a.b.c"}, "invalid_request"),  # unsupported
        ({"binding_message": "x" * 65}, "invalid_binding_message"),
        ({"binding_message": "工单\n4711"}, "invalid_binding_message"),
        ({"requested_expiry": "0"}, "invalid_request"),
        ({"requested_expiry": "soon"}, "invalid_request"),
        ({"user_code": "1234"}, "invalid_request"),  # not registered for user codes
    ],
)
def test_a_malformed_request_gets_its_error(
    app: Any, desk: Desk, person: dict[str, str], params: dict[str, str], expected: str
) -> None:
    response = start(app, desk, **{"login_hint": person["phone"], **params})
    assert error_of(response) == (400, expected), response.json
    with app.app_context():
        assert Approvals(context.store()).pending_for(person["id"]) == []


def test_a_parameter_sent_twice_is_refused(app: Any, desk: Desk, person: dict[str, str]) -> None:
    body = f"scope=openid&login_hint={person['phone']}&login_hint=17000000999"
    response = app.test_client().post(
        "/backchannel_authenticate",
        data=body,
        headers={**desk.basic, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert error_of(response) == (400, "invalid_request")


def test_only_an_authenticated_ciba_client_may_ask(
    app: Any, desk: Desk, person: dict[str, str]
) -> None:
    wrong = Desk(desk.client_id, "not-the-secret")
    assert error_of(start(app, wrong, login_hint=person["phone"])) == (401, "invalid_client")
    code_flow = register_desk(
        app, grant_types=("authorization_code",), redirect_uris=["https://rp.example.test/cb"]
    )
    assert error_of(start(app, code_flow, login_hint=person["phone"])) == (
        400,
        "unauthorized_client",
    )
    auth_req_id = started(app, desk, login_hint=person["phone"])
    assert error_of(poll(app, code_flow, auth_req_id)) == (400, "unauthorized_client")
    assert error_of(poll(app, desk, "")) == (400, "invalid_request")


def test_a_desk_registered_for_user_codes_must_send_the_callers(
    app: Any, person: dict[str, str]
) -> None:
    desk = register_desk(app, backchannel_user_code_parameter=True)
    hint = {"login_hint": person["phone"]}
    assert error_of(start(app, desk, **hint)) == (400, "missing_user_code")
    assert error_of(start(app, desk, **hint, user_code="wrong-guess")) == (400, "invalid_user_code")
    assert start(app, desk, **hint, user_code=person["password"]).status_code == 200
    for _ in range(ciba.USER_CODE_FAILURES):
        start(app, desk, **hint, user_code="wrong-guess")
    locked = start(app, desk, **hint, user_code=person["password"])  # the account is locked
    assert error_of(locked) == (400, "invalid_user_code")
    assert "too many" in locked.json["error_description"]


def test_a_ping_desk_must_send_a_notification_token(app: Any, person: dict[str, str]) -> None:
    desk = register_desk(
        app, mode="ping", backchannel_client_notification_endpoint="http://127.0.0.1:9/notify"
    )
    assert error_of(start(app, desk, login_hint=person["phone"])) == (400, "invalid_request")
    refused = start(app, desk, login_hint=person["phone"], client_notification_token="a b")
    assert error_of(refused) == (400, "invalid_request")


def test_a_desk_authenticating_with_its_key(app: Any, person: dict[str, str]) -> None:
    key = ECKey.generate_key("P-256")
    jwks = {"keys": [{**key.as_dict(private=False), "kid": "desk-1", "alg": "ES256"}]}
    desk = register_desk(app, token_endpoint_auth_method="private_key_jwt", jwks=jwks)
    issuer = app.extensions["idp.settings"].issuer

    def assertion() -> dict[str, str]:
        now = int(time.time())
        claims = {"iss": desk.client_id, "sub": desk.client_id, "aud": f"{issuer}/token"}
        claims.update(jti=secrets.token_urlsafe(12), iat=now, exp=now + 60)
        signed = jose_jwt.encode({"alg": "ES256", "kid": "desk-1"}, claims, key)
        kind = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        return {"client_assertion_type": kind, "client_assertion": signed}

    http = app.test_client()
    asked = {"scope": "openid", "login_hint": person["phone"], **assertion()}
    auth_req_id = http.post("/backchannel_authenticate", data=asked).json["auth_req_id"]
    answer(app, auth_req_id)
    form = {"grant_type": CIBA_GRANT, "auth_req_id": auth_req_id, **assertion()}
    assert "id_token" in http.post("/token", data=form).json
