"""The app API (/app/api) through Flask's test client, on both backends: enrolment with
the official app's access token, approvals listed, scanned and answered once, and from the
attacker's side: another device's key, a replay, a stale proof, a proof for another
request, a removed device, another client's token, another person's device."""

from __future__ import annotations

import time

import pytest

from connectors import synthetic
from idp import context
from idp.accounts.models import Person
from idp.authn.approvals import ApprovalKind, ApprovalState, user_code_alias
from idp.db import db
from idp.oidc.runtime import oidc
from tests.integration.channels.app_support import (
    Phone,
    access_token,
    approval,
    audit_rows,
    enrolled_phone,
    make_approval,
    official_app,
    relying_party,
)
from tests.integration.org_support import create_person

ALIVE = [p for p in synthetic.generate().persons if p.status == "alive"]
ME, SOMEONE_ELSE = ALIVE[12], ALIVE[13]


@pytest.fixture
def other(app) -> dict[str, str]:
    """A second person, with a phone of their own."""
    data = {"username": "bob", "phone": "17000000102", "password": "teapot-harbour-2026"}
    with app.app_context(), db.transaction() as session:
        data["id"] = context.accounts().create_person(session, **data).id
    return data


# -- enrolment ------------------------------------------------------------------------------
def test_enrol_with_the_apps_token_and_a_proof_of_the_new_key(app, person):
    phone = Phone(app)
    answer = phone.enrol(access_token(app, person, official_app(app)), "华为 Mate")
    assert answer.status_code == 201
    assert answer.json == {"device_id": phone.device_id, "name": "华为 Mate"}
    [row] = audit_rows(app, "person:app_device:enrolled")
    assert row.person_id == person["id"] and row.detail["device_id"] == phone.device_id
    listed = phone.call("GET", "/app/api/devices").json["devices"]
    assert [(d["device_id"], d["this_device"]) for d in listed] == [(phone.device_id, True)]
    assert listed[0]["last_used_at"] is not None


def test_enrolment_is_refused_without_the_official_apps_token(app, person):
    official_app(app)
    other_client = access_token(app, person, relying_party(app))
    for token in (other_client, "not-a-token"):
        answer = Phone(app).enrol(token)
        assert answer.status_code == 401 and answer.json["error"] == "invalid_token"
        assert answer.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    bare = Phone(app).app.test_client().post("/app/api/devices", json={"name": "x"})
    assert bare.status_code == 401
    assert audit_rows(app, "person:app_device:enrolled") == []


def test_an_enrolment_proof_must_carry_the_key_and_be_bound_to_the_token(app, person):
    token = access_token(app, person, official_app(app))
    other_token = access_token(app, person, official_app(app))
    cases = [
        {"token": other_token},  # ath of another access token
        {"token": None},  # no ath at all
        {"kid": "some-device"},  # names a device instead of carrying its key
        {"iat": int(time.time()) - 300},
    ]
    for proof in cases:
        answer = Phone(app).enrol(token, **proof)
        assert answer.status_code == 401, proof
        assert answer.json["error"] == "invalid_dpop_proof"
        assert answer.headers["WWW-Authenticate"].startswith("DPoP ")
    phone = Phone(app)
    assert phone.enrol(token, jti="once-only-jti").status_code == 201
    again = Phone(app, key=phone.key).enrol(token, jti="once-only-jti")
    assert again.status_code == 401 and "used before" in again.json["error_description"]
    assert Phone(app, key=phone.key).enrol(token).status_code == 409  # one key, one device


def test_a_device_name_is_checked(app, person):
    token = access_token(app, person, official_app(app))
    for name in ("", "x" * 65, "bad\x00name"):
        assert Phone(app).enrol(token, name).status_code == 400


# -- proofs, from the attacker's side ------------------------------------------------------
def test_proofs_that_do_not_belong_to_this_request_are_refused(app, person):
    mine = enrolled_phone(app, person)
    thief = Phone(app, device_id=mine.device_id)  # another key, claiming my device's id
    path = "/app/api/approvals"
    replayed = mine.proof("GET", path)
    assert mine.call("GET", path, proof=replayed).status_code == 200
    cases = {
        "another device's key": thief.proof("GET", path),
        "a replay": replayed,
        "a stale iat": mine.proof("GET", path, iat=int(time.time()) - 120),
        "an iat from the future": mine.proof("GET", path, iat=int(time.time()) + 120),
        "another URL": mine.proof("GET", "/app/api/devices"),
        "another method": mine.proof("POST", path),
        "an unknown device": mine.proof("GET", path, kid="no-such-device"),
        "a key in the header": mine.proof("GET", path, kid=None),
        "not a proof (typ JWT)": mine.proof("GET", path, header={"typ": "JWT"}),
        "no proof at all": "",
    }
    for case, proof in cases.items():
        answer = mine.call("GET", path, proof=proof)
        assert answer.status_code == 401, case
        assert answer.json["error"] == "invalid_dpop_proof", case
        assert 'error="invalid_dpop_proof"' in answer.headers["WWW-Authenticate"], case


def test_a_disabled_account_and_a_revoked_token_are_refused(app, person):
    phone = enrolled_phone(app, person)
    token = access_token(app, person, official_app(app))
    with app.app_context():
        claims, _grant = oidc().tokens.check_access_token(token)
        oidc().artifacts.revoke_grant(claims["gid"])
    revoked = Phone(app).enrol(token)
    assert revoked.status_code == 401 and revoked.json["error"] == "invalid_token"
    with app.app_context():
        db.session.get(Person, person["id"]).status = "disabled"
        db.session.commit()
    refused = phone.call("GET", "/app/api/approvals")
    assert refused.status_code == 403 and refused.json["error"] == "access_denied"


def test_a_removed_device_is_refused(app, person, other):
    first, second = enrolled_phone(app, person, "旧手机"), enrolled_phone(app, person, "新手机")
    theirs = enrolled_phone(app, other)
    assert theirs.call("DELETE", f"/app/api/devices/{first.device_id}").status_code == 404
    removed = second.call("DELETE", f"/app/api/devices/{first.device_id}")
    assert removed.status_code == 200 and removed.json["removed"] is True
    assert first.call("GET", "/app/api/approvals").status_code == 401
    [row] = audit_rows(app, "person:app_device:removed")
    assert row.detail == {"device_id": first.device_id, "by_device": second.device_id}
    assert [d["name"] for d in second.call("GET", "/app/api/devices").json["devices"]] == ["新手机"]


# -- approvals ------------------------------------------------------------------------------
def test_a_qr_is_scanned_then_approved_once(app, person):
    phone = enrolled_phone(app, person)
    made = make_approval(app, location="广东省广州市")
    assert phone.call("GET", "/app/api/approvals").json == {"approvals": []}
    scanned = phone.call("POST", "/app/api/scan", {"text": phone.url(f"/qr/{made.id}")})
    assert scanned.status_code == 200
    assert (scanned.json["id"], scanned.json["state"]) == (made.id, "scanned")
    assert (
        scanned.json["client_name"] == "测试社保服务" and scanned.json["location"] == "广东省广州市"
    )
    [listed] = phone.call("GET", "/app/api/approvals").json["approvals"]
    assert listed["id"] == made.id and listed["expires_at"].endswith("Z")
    answered = phone.call("POST", f"/app/api/approvals/{made.id}/approve", {"face": False})
    assert answered.status_code == 200 and answered.json["amr"] == ["swk"]
    stored = approval(app, made.id)
    assert stored is not None and (stored.state, stored.amr) == (ApprovalState.approved, ["swk"])
    assert stored.device_id == phone.device_id and stored.person_id == person["id"]
    for again in ("approve", "deny"):
        second = phone.call("POST", f"/app/api/approvals/{made.id}/{again}", {})
        assert second.status_code == 409 and second.json["error"] == "already_answered"
    [row] = audit_rows(app, "person:approval:answered")
    assert row.detail["approved"] is True and row.detail["amr"] == ["swk"]
    assert phone.call("GET", "/app/api/approvals").json == {"approvals": []}


def test_a_device_grant_is_found_by_its_user_code_however_typed(app, person):
    phone = enrolled_phone(app, person)
    made = make_approval(app, alias=user_code_alias("WDJB-MJHT"), kind=ApprovalKind.device)
    text = phone.url("/device?user_code=wdjbmjht")
    scanned = phone.call("POST", "/app/api/scan", {"text": text})
    assert scanned.status_code == 200 and scanned.json["id"] == made.id
    denied = phone.call("POST", f"/app/api/approvals/{made.id}/deny", {})
    assert denied.status_code == 200 and denied.json["state"] == "denied"
    assert approval(app, made.id).state is ApprovalState.denied


def test_a_request_naming_its_person_needs_no_scan_and_only_they_answer(app, person, other):
    mine, theirs = enrolled_phone(app, person), enrolled_phone(app, other)
    made = make_approval(app, kind=ApprovalKind.ciba, person_id=person["id"], binding_message="A1")
    assert theirs.call("GET", "/app/api/approvals").json == {"approvals": []}
    refused = theirs.call("POST", f"/app/api/approvals/{made.id}/approve", {})
    assert refused.status_code == 404
    [listed] = mine.call("GET", "/app/api/approvals").json["approvals"]
    assert (listed["kind"], listed["binding_message"]) == ("ciba", "A1")
    assert mine.call("POST", f"/app/api/approvals/{made.id}/approve", {}).status_code == 200


def test_a_code_scanned_by_another_persons_device_is_theirs(app, person, other):
    mine, theirs = enrolled_phone(app, person), enrolled_phone(app, other)
    made = make_approval(app)
    text = mine.url(f"/qr/{made.id}")
    assert theirs.call("POST", "/app/api/scan", {"text": text}).status_code == 200
    taken = mine.call("POST", "/app/api/scan", {"text": text})
    assert taken.status_code == 409 and taken.json["error"] == "taken"
    assert mine.call("POST", f"/app/api/approvals/{made.id}/approve", {}).status_code == 404
    second_phone = enrolled_phone(app, other, "另一部手机")  # the same person, another device
    refused = second_phone.call("POST", f"/app/api/approvals/{made.id}/approve", {})
    assert refused.status_code == 409 and refused.json["error"] == "taken"
    assert approval(app, made.id).state is ApprovalState.scanned


def test_an_unscanned_code_cannot_be_answered_and_odd_texts_are_refused(app, person):
    phone = enrolled_phone(app, person)
    made = make_approval(app)
    unscanned = phone.call("POST", f"/app/api/approvals/{made.id}/approve", {})
    assert unscanned.status_code == 409 and unscanned.json["error"] == "not_scanned"
    for text, status in [
        (f"https://elsewhere.example/qr/{made.id}", 400),
        (phone.url("/account"), 400),
        (phone.url("/qr/no-such-approval"), 404),
        (phone.url("/device?user_code=NOPE-NOPE"), 404),
    ]:
        assert phone.call("POST", "/app/api/scan", {"text": text}).status_code == status, text
    assert phone.call("POST", "/app/api/scan", {"words": "x"}).status_code == 400


def test_an_expired_request_cannot_be_taken(app, person):
    phone = enrolled_phone(app, person)
    made = make_approval(app, expires_at=int(time.time()) + 1)
    time.sleep(1.2)
    answer = phone.call("POST", "/app/api/scan", {"text": phone.url(f"/qr/{made.id}")})
    assert answer.status_code == 404


def test_guessing_codes_through_the_app_is_stopped(app, person):
    phone = enrolled_phone(app, person)
    for n in range(10):
        text = phone.url(f"/device?user_code=GUES-SS{n:02d}")
        assert phone.call("POST", "/app/api/scan", {"text": text}).status_code == 404
    made = make_approval(app, alias=user_code_alias("REAL-CODE"), kind=ApprovalKind.device)
    blocked = phone.call("POST", "/app/api/scan", {"text": phone.url("/device?user_code=REALCODE")})
    assert blocked.status_code == 429 and blocked.json["error"] == "slow_down"
    assert approval(app, made.id).state is ApprovalState.pending


# -- a face check in the app ----------------------------------------------------------------
def _real_named(app) -> dict[str, str]:
    data = {"username": "u0912", "phone": "17000000912", "password": "teapot-harbour-2026"}
    with app.app_context():
        data["id"] = create_person(
            db.session, data["phone"], data["password"], ME, data["username"]
        ).id
        db.session.commit()
    return data


def _loa(app, person_id: str) -> int:
    with app.app_context():
        return db.session.get(Person, person_id).loa


def test_approving_with_a_live_face_proves_swk_and_face(app):
    me = _real_named(app)
    phone = enrolled_phone(app, me)
    made = make_approval(app, kind=ApprovalKind.step_up, person_id=me["id"], level=4)
    theirs = synthetic.face_image(SOMEONE_ELSE.photo_template_id)
    mine = synthetic.face_image(ME.photo_template_id)
    path = f"/app/api/approvals/{made.id}/approve"
    for image, token, error in [
        (theirs, synthetic.liveness_token(theirs), "face_mismatch"),
        (mine, synthetic.liveness_token(theirs), "face_not_live"),
    ]:
        refused = phone.call("POST", path, {"face": True, "image": image, "liveness_token": token})
        assert refused.status_code == 403 and refused.json["error"] == error
    assert approval(app, made.id).state is ApprovalState.pending and _loa(app, me["id"]) == 3
    body = {"face": True, "image": mine, "liveness_token": synthetic.liveness_token(mine)}
    answered = phone.call("POST", path, body)
    assert answered.status_code == 200 and answered.json["amr"] == ["swk", "face"]
    assert approval(app, made.id).amr == ["swk", "face"] and _loa(app, me["id"]) == 4


def test_a_face_check_needs_a_real_name_and_an_image(app, person):
    phone = enrolled_phone(app, person)
    made = make_approval(app, kind=ApprovalKind.ciba, person_id=person["id"])
    path = f"/app/api/approvals/{made.id}/approve"
    image = synthetic.face_image(ME.photo_template_id)
    body = {"face": True, "image": image, "liveness_token": synthetic.liveness_token(image)}
    refused = phone.call("POST", path, body)
    assert refused.status_code == 403 and refused.json["error"] == "face_needs_real_name"
    assert phone.call("POST", path, {"face": True}).status_code == 400
    assert phone.call("POST", path, {"face": "yes"}).status_code == 400
    assert approval(app, made.id).state is ApprovalState.pending


# -- every answer is JSON -------------------------------------------------------------------
def test_unknown_paths_methods_and_bodies_get_json_errors(app, person):
    phone = enrolled_phone(app, person)
    client = app.test_client()
    missing = client.get("/app/api/nothing-here")
    assert missing.status_code == 404 and missing.json["error"] == "not_found"
    wrong = client.get("/app/api/scan")
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "POST"
    assert wrong.json["error"] == "invalid_request"
    form = client.post(
        "/app/api/scan",
        data={"text": "x"},
        headers={"DPoP": phone.proof("POST", "/app/api/scan")},
    )
    assert form.status_code == 400 and form.json["error"] == "invalid_request"
    assert "Set-Cookie" not in form.headers and form.headers["Cache-Control"] == "no-store"
