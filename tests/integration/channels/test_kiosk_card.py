"""A kiosk's ID card chip + face (RFC 7523 JWT bearer, idp/oidc/grants/jwt_bearer.py and
idp/channels/kiosk.py): the same person the department's web RP knows, at loa:4 with
amr ["sc", "face"]; and everything that must not get a token, getting none and leaving
nothing behind."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from joserfc.jwk import ECKey

from idp import context
from idp.channels import kiosk as kiosk_channel
from idp.oidc.features import JWT_BEARER_GRANT
from idp.oidc.grants.jwt_bearer import REFUSED
from tests.integration.channels.kiosk_support import (
    ME,
    SECTOR,
    SOMEONE_ELSE,
    STRANGER,
    Kiosk,
    audit,
    claims_of,
    face_of,
    loa,
    real_named,
    register_kiosk,
    register_rp,
    sessions_of,
    web_sub,
)
from tests.integration.test_cli import idp, ok

LOA4 = "urn:cn:gov:idp:loa:4"
KIOSK_EVENTS = (
    "person:kiosk_card:verified",
    "person:kiosk_card:refused",
    "client:kiosk_card:throttled",
    "client:kiosk_tokens:issued",
)


@pytest.fixture
def kiosk(app):
    return register_kiosk(app)


@pytest.fixture
def me(app):
    return real_named(app, ME, "17000001201")


def refused(response, error: str = "invalid_grant", description: str | None = None) -> None:
    assert response.status_code in (400, 401), response.get_data(as_text=True)
    assert response.json["error"] == error, response.json
    assert response.headers["Cache-Control"] == "no-store"
    if description is not None:
        assert response.json["error_description"] == description


def nothing_written(app, me) -> None:
    """No session, no level, no audit row: as if the request had never come."""
    assert sessions_of(app, me["id"]) == []
    assert loa(app, me["id"]) == 3
    assert audit(app, *KIOSK_EVENTS, "person:realperson:verified") == []


# -- the person at the kiosk -----------------------------------------------------------------
def test_card_and_face_sign_in_the_person_the_web_rp_knows_at_loa4(app, kiosk, me):
    rp = register_rp(app)
    on_the_web = web_sub(app, me, rp)

    response = kiosk.sign_in(ME, ME)

    assert response.status_code == 200, response.json
    body = response.json
    assert "refresh_token" not in body
    assert body["token_type"] == "Bearer" and body["scope"] == "openid profile"
    assert 0 < body["expires_in"] <= app.extensions["idp.settings"].kiosk_idle_timeout
    id_token = claims_of(app, body["id_token"])
    assert id_token["sub"] == on_the_web
    assert id_token["acr"] == LOA4 and id_token["amr"] == ["sc", "face"]
    assert id_token["aud"] == kiosk.client_id
    access = kiosk.introspect(body["access_token"])
    assert access["active"] and access["sub"] == on_the_web and access["amr"] == ["sc", "face"]
    assert loa(app, me["id"]) == 4  # proven in person: every later session may reach loa:4
    [visit] = [s for s in sessions_of(app, me["id"]) if s.channel == "kiosk"]
    assert (visit.device, visit.acr, visit.amr) == (kiosk.name, LOA4, ["sc", "face"])
    events = [row.event for row in audit(app, *KIOSK_EVENTS, "person:realperson:verified")]
    assert events == [
        "person:realperson:verified",
        "person:kiosk_card:verified",
        "client:kiosk_tokens:issued",
    ]
    assert {row.person_id for row in audit(app, *KIOSK_EVENTS)} == {me["id"]}


@pytest.mark.parametrize("backend", ["embedded"])  # the command shares the app's instance
def test_a_kiosk_registered_by_the_operator_signs_in(make_app):
    app = make_app()
    key = ECKey.generate_key("P-256")
    jwks = {"keys": [{**key.as_dict(private=False), "kid": "kiosk-1", "alg": "ES256"}]}
    done = idp(
        Path(app.extensions["idp.settings"].instance_dir),
        *("client", "create", "--name", "社保自助终端", "--channel", "kiosk"),
        *("--grant-type", JWT_BEARER_GRANT, "--token-endpoint-auth-method", "private_key_jwt"),
        *("--jwks", json.dumps(jwks), "--scope", "openid", "--sector", SECTOR, "--json"),
    )
    kiosk = Kiosk(app, json.loads(ok(done))["client_id"], "社保自助终端", key)
    me = real_named(app, ME, "17000001203")
    response = kiosk.token(kiosk.card(ME, kiosk.capture(*face_of(ME))), scope="openid")
    assert response.status_code == 200, response.json
    assert claims_of(app, response.json["id_token"])["sub"] == web_sub(app, me, register_rp(app))


def test_discovery_advertises_the_grant(app):
    document = app.test_client().get("/.well-known/openid-configuration").json
    assert JWT_BEARER_GRANT in document["grant_types_supported"]


@pytest.mark.parametrize(
    "card, face",
    [
        (ME, SOMEONE_ELSE),  # someone else's face with my card
        ("not live", ME),  # my face, but the liveness token of another frame
        ("wrong name", ME),  # the card's name is not the registry's for the number
    ],
)
def test_a_face_or_a_name_that_does_not_match_gets_one_neutral_answer(app, kiosk, me, card, face):
    if card == "not live":
        image, _ = face_of(ME)
        assertion = kiosk.card(ME, kiosk.capture(image, face_of(ME, 1)[1]))
    elif card == "wrong name":
        assertion = kiosk.card(ME, kiosk.capture(*face_of(face)), name=SOMEONE_ELSE.name)
    else:
        assertion = kiosk.card(card, kiosk.capture(*face_of(face)))

    refused(kiosk.token(assertion), description=REFUSED)

    assert sessions_of(app, me["id"]) == [] and loa(app, me["id"]) == 3
    [row] = audit(app, "person:kiosk_card:refused")
    assert row.person_id == me["id"] and row.channel == "kiosk"
    assert row.detail["reason"] in ("mismatch", "not_live", "no_match")
    assert row.detail["id_number"].startswith("1101") and "*" in row.detail["id_number"]


def test_a_person_with_no_account_here_gets_the_same_answer(app, kiosk):
    response = kiosk.sign_in(STRANGER, STRANGER)
    refused(response, description=REFUSED)
    [row] = audit(app, "person:kiosk_card:refused")
    assert row.person_id is None and row.detail["reason"] == "no_account"


# -- the assertion: what must not pass --------------------------------------------------------
def test_a_stale_iat_is_refused_and_nothing_is_written(app, kiosk, me):
    old = kiosk.card(ME, kiosk.capture(*face_of(ME)), iat=_now() - 61, exp=_now() + 60)
    refused(kiosk.token(old))
    ahead = kiosk.card(ME, kiosk.capture(*face_of(ME)), iat=_now() + 120, exp=_now() + 200)
    refused(kiosk.token(ahead))
    too_long = kiosk.card(ME, kiosk.capture(*face_of(ME)), exp=_now() + 3600)
    refused(kiosk.token(too_long))
    nothing_written(app, me)


def test_a_reused_jti_is_refused(app, kiosk, me):
    assertion = kiosk.card(ME, kiosk.capture(*face_of(ME)))
    assert kiosk.token(assertion).status_code == 200
    refused(kiosk.token(assertion), description="this assertion has been used already")
    again = kiosk.card(ME, kiosk.capture(*face_of(ME)), jti=kiosk.sent[0])
    refused(kiosk.token(again), description="this assertion has been used already")
    assert len(sessions_of(app, me["id"])) == 1


@pytest.mark.parametrize(
    "aud",
    [
        "https://elsewhere.example.test",
        "{issuer}/introspect",
        ["{issuer}", "https://elsewhere.example.test"],
        None,
    ],
)
def test_a_wrong_audience_is_refused(app, kiosk, me, aud):
    if isinstance(aud, str):
        aud = aud.format(issuer=kiosk.issuer)
    elif isinstance(aud, list):
        aud = [a.format(issuer=kiosk.issuer) for a in aud]
    refused(kiosk.token(kiosk.card(ME, kiosk.capture(*face_of(ME)), aud=aud)))
    nothing_written(app, me)


def test_the_token_endpoint_is_an_audience_too(app, kiosk, me):
    aud = f"{kiosk.issuer}/token"
    assert kiosk.token(kiosk.card(ME, kiosk.capture(*face_of(ME)), aud=[aud])).status_code == 200


def test_an_unregistered_key_is_refused_and_uses_up_nothing(app, kiosk, me):
    capture = kiosk.capture(*face_of(ME))
    forged = kiosk.card(ME, capture, key=ECKey.generate_key("P-256"))
    refused(kiosk.token(forged))
    unknown_kid = kiosk.card(
        ME, capture, key=ECKey.generate_key("P-256"), header={"alg": "ES256", "kid": "k2"}
    )
    refused(kiosk.token(unknown_kid))
    nothing_written(app, me)
    # neither the forged jti nor the capture was used up by the forgeries
    genuine = kiosk.card(ME, capture, jti=kiosk.sent[0])
    assert kiosk.token(genuine).status_code == 200


def test_another_kiosks_key_or_name_is_refused(app, kiosk, me):
    other = register_kiosk(app, name="公积金自助终端")
    signed_by_other = kiosk.card(ME, kiosk.capture(*face_of(ME)), key=other.key)
    refused(kiosk.token(signed_by_other))
    in_the_others_name = other.card(ME, kiosk.capture(*face_of(ME)))  # iss: the other kiosk
    refused(kiosk.token(in_the_others_name))
    their_capture = kiosk.card(ME, other.capture(*face_of(ME)))
    refused(kiosk.token(their_capture))
    nothing_written(app, me)


def test_a_capture_is_used_once_and_must_exist(app, kiosk, me):
    capture = kiosk.capture(*face_of(SOMEONE_ELSE))
    refused(kiosk.token(kiosk.card(ME, capture)), description=REFUSED)  # used up, refused
    refused(kiosk.token(kiosk.card(ME, capture)))
    refused(kiosk.token(kiosk.card(ME, "never-uploaded")))
    with app.app_context():
        fresh = kiosk.capture(*face_of(ME))
        assert 0 < context.store().ttl("kiosk-capture", fresh) <= 120
    assert sessions_of(app, me["id"]) == []


def test_an_assertion_without_the_card_is_refused(app, kiosk, me):
    capture = kiosk.capture(*face_of(ME))
    for missing in ("sub", "name", "face_capture", "jti"):
        refused(kiosk.token(kiosk.card(ME, capture, **{missing: None})))
    refused(kiosk.token("not.a.jwt"))
    response = kiosk.token("")
    refused(response, error="invalid_request")
    nothing_written(app, me)


# -- who may post it -----------------------------------------------------------------------
def test_only_a_kiosk_authenticated_by_its_key_may_post_the_grant(app, kiosk, me):
    assertion = kiosk.card(ME, kiosk.capture(*face_of(ME)))
    grant = {"grant_type": JWT_BEARER_GRANT, "assertion": assertion, "scope": "openid"}
    http = app.test_client()
    public = register_rp(app, token_endpoint_auth_method="none")
    refused(http.post("/token", data={**grant, "client_id": public.client_id}), "invalid_client")
    confidential = register_rp(app)
    response = http.post("/token", data=grant, headers=confidential.basic)
    refused(response, "invalid_client")
    refused(http.post("/token", data=grant), "invalid_client")  # no client at all
    web = register_kiosk(app, channel="web", name="网上大厅")
    refused(web.token(web.card(ME, kiosk.capture(*face_of(ME)))), "unauthorized_client")
    nothing_written(app, me)


def test_captures_are_taken_from_kiosks_only(app, kiosk):
    image, token = face_of(ME)
    http = app.test_client()
    public = register_rp(app, token_endpoint_auth_method="none")
    data = {"image": image, "liveness_token": token}
    refused(
        http.post("/kiosk/captures", data={**data, "client_id": public.client_id}), "invalid_client"
    )
    web = register_kiosk(app, channel="web", name="网上大厅")
    response = http.post("/kiosk/captures", data={**data, **web.client_assertion()})
    refused(response, "unauthorized_client")
    for bad in ({"image": "not base64!"}, {"liveness_token": ""}, {"image": "A" * 600_000}):
        response = http.post("/kiosk/captures", data={**data, **bad, **kiosk.client_assertion()})
        refused(response, "invalid_request")


# -- limits and outages ----------------------------------------------------------------------
def test_failures_with_one_card_stop_it_for_the_day(make_app):
    app = make_app(realname_tries_per_id_number=2)
    kiosk, me = register_kiosk(app), real_named(app, ME, "17000001202")
    for _ in range(2):
        refused(kiosk.sign_in(ME, SOMEONE_ELSE), description=REFUSED)
    other_kiosk = register_kiosk(app, name="另一台终端")
    response = other_kiosk.sign_in(ME, ME)  # the right face now, at another kiosk
    refused(response)
    assert "too many" in response.json["error_description"]
    assert sessions_of(app, me["id"]) == [] and loa(app, me["id"]) == 3
    assert len(audit(app, "client:kiosk_card:throttled")) == 1
    refused(other_kiosk.sign_in(ME, ME))
    assert len(audit(app, "client:kiosk_card:throttled")) == 1  # audited once


def test_failures_at_one_kiosk_stop_it_and_a_success_gives_its_try_back(
    app, kiosk, me, monkeypatch
):
    monkeypatch.setattr(kiosk_channel, "KIOSK_FAILURES", 2)
    assert kiosk.sign_in(ME, ME).status_code == 200  # counted, then given back
    refused(kiosk.sign_in(STRANGER, STRANGER), description=REFUSED)
    refused(kiosk.sign_in(SOMEONE_ELSE, SOMEONE_ELSE), description=REFUSED)
    response = kiosk.sign_in(ME, ME)
    refused(response)
    assert "too many" in response.json["error_description"]
    assert register_kiosk(app, name="隔壁终端").sign_in(ME, ME).status_code == 200


def test_registry_down_is_503_and_costs_no_try(app, kiosk, me, monkeypatch):
    monkeypatch.setattr(kiosk_channel, "KIOSK_FAILURES", 1)
    with app.app_context():
        registry = context.connectors().population
    registry.available = False
    try:
        response = kiosk.sign_in(ME, ME)
        assert response.status_code == 503 and response.json["error"] == "temporarily_unavailable"
        assert kiosk.sign_in(ME, ME).status_code == 503
    finally:
        registry.available = True
    assert kiosk.sign_in(ME, ME).status_code == 200


def _now() -> int:
    return int(time.time())
