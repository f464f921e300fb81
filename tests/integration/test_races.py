"""Shared state stays right when two workers change it at once (real Redis: the embedded
6.2 server `make run` uses and Redis 7).

Each test lets worker A stop between any two of its Redis commands while worker B does
its whole job, then lets A finish (tests/integration/interleaving.py), and checks what a
person or a relying party would notice: a signed-out session that comes back, a step-up
that is lost, a replayed code or a revoked grant that still yields tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib

from idp.accounts.sessions import SessionStore
from idp.accounts.throttle import LoginThrottle
from idp.errors import TooManyAttemptsError
from idp.oidc.artifacts import Artifacts, RefreshTokenReusedError
from idp.store import ArtifactStore, connect, embedded
from tests.integration.interleaving import every_interleaving

LOA = "urn:cn:gov:idp:loa:"
IDLE, ABSOLUTE = 1800, 43200


@pytest.fixture(params=["embedded", "server"])
def redis_url(request: pytest.FixtureRequest, short_tmp: Path) -> Iterator[str]:
    if request.param == "embedded":
        yield embedded.ensure_running(short_tmp)
        embedded.stop(short_tmp)
    else:
        url = request.getfixturevalue("redis_server").url
        redis_lib.Redis.from_url(url).flushdb()
        yield url


@pytest.fixture
def store(redis_url: str) -> ArtifactStore:
    """Worker B's store (and the test's eyes)."""
    return connect(redis_url)


def sessions(store: ArtifactStore) -> SessionStore:
    return SessionStore(store, IDLE, ABSOLUTE)


def artifacts(store: ArtifactStore) -> Artifacts:
    return Artifacts(store, code_ttl=60, refresh_ttl=3600, access_ttl=600)


def signed_in(store: ArtifactStore, person: str = "p-1") -> dict[str, Any]:
    token, sso = sessions(store).create(
        person_id=person, channel="web", amr=["pwd"], acr=f"{LOA}3", ip=None, user_agent=None
    )
    return {"token": token, "sid": sso.id, "person": person}


# -- SSO sessions ---------------------------------------------------------------------------


def test_a_request_in_flight_does_not_bring_back_a_signed_out_session(redis_url, store):
    """A page request reads the session; sign-out ends it on another worker; the request
    must not write it back (it would then escape "sign out everywhere")."""
    now: dict[str, Any] = {}
    runs = every_interleaving(
        redis_url,
        set_up=lambda: now.update(signed_in(store)),
        worker_a=lambda a: sessions(a).resolve(now["token"]),
        worker_b=lambda: sessions(store).end(now["sid"]),
    )
    for run in runs:
        assert store.find("session", now["sid"]) is None, f"back after {run.after} commands"
        assert sessions(store).resolve(now["token"]) is None
        assert sessions(store).list_for_person(now["person"]) == []


def test_a_step_up_does_not_bring_back_a_signed_out_session(redis_url, store):
    now: dict[str, Any] = {}
    runs = every_interleaving(
        redis_url,
        set_up=lambda: now.update(signed_in(store)),
        worker_a=lambda a: sessions(a).add_method(now["sid"], "face", f"{LOA}4"),
        worker_b=lambda: sessions(store).end(now["sid"]),
    )
    for run in runs:
        assert store.find("session", now["sid"]) is None, f"back after {run.after} commands"


def test_a_request_in_flight_does_not_undo_a_step_up(redis_url, store):
    """A page request refreshes the idle timer while the face check of the same session
    raises it to loa:4 on another worker: the raise must stay."""
    now: dict[str, Any] = {}
    runs = every_interleaving(
        redis_url,
        set_up=lambda: now.update(signed_in(store)),
        worker_a=lambda a: sessions(a).resolve(now["token"]),
        worker_b=lambda: sessions(store).add_method(now["sid"], "face", f"{LOA}4"),
    )
    for run in runs:
        sso = sessions(store).get(now["sid"])
        assert sso is not None
        assert (sso.acr, sso.amr) == (f"{LOA}4", ["pwd", "face", "mfa"]), run.after


@pytest.mark.parametrize(
    ("a_adds", "b_adds"), [(("face", 4), ("otp", 3)), (("otp", 3), ("face", 4))]
)
def test_two_step_ups_at_once_keep_both_methods_and_the_higher_level(
    redis_url, store, a_adds, b_adds
):
    now: dict[str, Any] = {}
    runs = every_interleaving(
        redis_url,
        set_up=lambda: now.update(signed_in(store)),
        worker_a=lambda a: sessions(a).add_method(now["sid"], a_adds[0], f"{LOA}{a_adds[1]}"),
        worker_b=lambda: sessions(store).add_method(now["sid"], b_adds[0], f"{LOA}{b_adds[1]}"),
    )
    for run in runs:
        sso = sessions(store).get(now["sid"])
        assert sso is not None
        assert sso.acr == f"{LOA}4", f"lowered after {run.after} commands"
        assert set(sso.amr) == {"pwd", "face", "otp", "mfa"}, f"lost after {run.after}"


def test_a_step_up_never_lowers_the_level(store):
    now = signed_in(store)
    sessions(store).add_method(now["sid"], "face", f"{LOA}4")
    raised = sessions(store).add_method(now["sid"], "sms", f"{LOA}3")
    assert raised is not None and raised.acr == f"{LOA}4"
    assert raised.amr == ["pwd", "face", "mfa", "sms"]
    assert sessions(store).get(now["sid"]) == raised


def test_a_session_comes_back_from_its_script_as_it_went_in(store):
    """The scripts rewrite the record with Lua's JSON: nothing else may change."""
    token, sso = sessions(store).create(
        person_id="p-2",
        channel="app",
        amr=["pwd"],
        acr=f"{LOA}3",
        ip="2001:db8::7",
        user_agent='Mozilla/5.0 (政务浏览器; \x01) "quoted" \\ /path',
    )
    resolved = sessions(store).resolve(token)
    assert resolved is not None and resolved.last_seen >= sso.last_seen
    assert replace(resolved, last_seen=sso.last_seen) == sso
    assert sessions(store).get(sso.id) == resolved
    assert sessions(store).list_for_person("p-2") == [resolved]


def test_an_expired_session_ends_in_the_step_that_finds_it(store):
    now = signed_in(store)
    record = store.find("session", now["sid"])
    assert record is not None
    store.upsert("session", now["sid"], {**record, "last_seen": record["last_seen"] - IDLE - 5}, 60)
    assert sessions(store).add_method(now["sid"], "face", f"{LOA}4") is None
    assert store.find("session", now["sid"]) is None
    assert sessions(store).list_for_person(now["person"]) == []


# -- authorization codes, grants, refresh tokens --------------------------------------------


def grant_data(sid: str | None, person: str = "p-1") -> dict[str, Any]:
    return {
        "person_id": person,
        "client_id": "rp",
        "scope": "openid",
        "sid": sid,
        "auth_time": 0,
        "acr": f"{LOA}3",
        "amr": ["pwd"],
        "claims": None,
    }


def redeem(store: ArtifactStore, code: str) -> str | None:
    """The token endpoint with a code: redeem it, make its grant, record the grant."""
    found, _ = artifacts(store).redeem_code(code)
    if found is None:
        return None
    grant_id, _ = artifacts(store).create_grant(grant_data(None))
    artifacts(store).mark_code_used(code, grant_id)
    return grant_id


def replay(store: ArtifactStore, code: str) -> None:
    """The token endpoint with a code redeemed before: revoke what it produced."""
    found, grant_id = artifacts(store).redeem_code(code)
    if found is None and grant_id:
        artifacts(store).revoke_grant(grant_id)


def test_a_code_replayed_while_its_grant_is_made_revokes_that_grant(redis_url, store):
    """RFC 6749 4.1.2: a code used twice revokes the tokens it produced, even when the
    second use comes while the first is still making its grant."""
    code = "code-0123456789"
    runs = every_interleaving(
        redis_url,
        set_up=lambda: artifacts(store).save_code(code, {"client_id": "rp"}),
        worker_a=lambda a: redeem(a, code),
        worker_b=lambda: replay(store, code),
    )
    for run in runs:
        if run.result is not None:  # A redeemed first; B's replay must end A's grant
            assert artifacts(store).grant(run.result) is None, f"alive after {run.after}"


def test_a_grant_made_while_its_session_signs_out_does_not_outlive_it(redis_url, store):
    """A code redeemed while the person signs out: the grant must not escape the sign-out
    (its tokens would keep working after "sign out")."""
    now: dict[str, Any] = {}

    def sign_out() -> None:
        sessions(store).end(now["sid"])
        artifacts(store).revoke_session_grants(now["sid"])

    runs = every_interleaving(
        redis_url,
        set_up=lambda: now.update(signed_in(store)),
        worker_a=lambda a: artifacts(a).create_grant(grant_data(now["sid"]))[0],
        worker_b=sign_out,
    )
    for run in runs:
        assert artifacts(store).grant(run.result) is None, f"alive after {run.after}"


def test_a_grant_of_a_live_session_is_made_and_indexed(store):
    now = signed_in(store)
    grant_id, _ = artifacts(store).create_grant(grant_data(now["sid"]))
    assert artifacts(store).grant(grant_id) is not None
    assert [g["sid"] for g in artifacts(store).session_grants(now["sid"])] == [now["sid"]]


def test_a_refresh_token_is_not_rotated_once_its_grant_is_revoked(store):
    """Worker A has read a refresh token and its live grant; worker B revokes the grant
    (revocation, sign-out); A must not mint a successor from what it read."""
    grant_id, exp = artifacts(store).create_grant(grant_data(None))
    token = artifacts(store).issue_refresh_token(grant_id, "rp", "openid offline_access", exp)
    data, grant = artifacts(store).find_refresh_token(token)
    assert data is not None and grant is not None
    artifacts(store).revoke_grant(grant_id)
    with pytest.raises(RefreshTokenReusedError):
        artifacts(store).rotate_refresh_token(token, data, grant, "openid offline_access")
    assert artifacts(store).find_refresh_token(token)[1] is None


def test_of_two_rotations_of_one_refresh_token_one_wins(redis_url, store):
    now: dict[str, Any] = {}

    def set_up() -> None:
        grant_id, exp = artifacts(store).create_grant(grant_data(None))
        now["token"] = artifacts(store).issue_refresh_token(grant_id, "rp", "openid", exp)

    def rotate(on: ArtifactStore) -> bool:
        data, grant = artifacts(on).find_refresh_token(now["token"])
        if data is None or grant is None or data["used"]:
            return False
        try:
            artifacts(on).rotate_refresh_token(now["token"], data, grant, "openid")
        except RefreshTokenReusedError:
            return False
        return True

    won: dict[str, bool] = {}
    runs = every_interleaving(
        redis_url, set_up, lambda a: rotate(a), lambda: won.update(b=rotate(store))
    )
    for run in runs:
        assert [run.result, won["b"]].count(True) == 1, run.after


# -- sign-in throttle -----------------------------------------------------------------------


def test_an_address_never_gets_more_tries_than_its_limit(redis_url, store):
    """The address and the account are counted in two steps (two cluster slots): an
    attempt at a blocked account, in flight, may make the address look busier for a
    moment, never idler."""

    def throttle(on: ArtifactStore) -> LoginThrottle:
        return LoginThrottle(
            on, max_failures=3, lockout_seconds=60, address_max_failures=1, address_window=60
        )

    def set_up() -> None:
        store.client.flushdb()
        for _ in range(3):  # blocks "p:blocked" (counted from no address)
            throttle(store).attempt("p:blocked", None)

    def attempt(on: ArtifactStore, account: str) -> bool:
        try:
            throttle(on).attempt(account, "192.0.2.9")
        except TooManyAttemptsError:
            return False
        return True

    counted: dict[str, bool] = {}
    runs = every_interleaving(
        redis_url,
        set_up,
        lambda a: attempt(a, "p:blocked"),
        lambda: counted.update(b=attempt(store, "p:other")),
    )
    for run in runs:
        assert run.result is False  # blocked
        used = int(store.client.get(store_key(store, "192.0.2.9")) or 0)
        assert used == int(counted["b"]) <= 1, run.after


def store_key(store: ArtifactStore, address: str) -> str:
    """The address counter's key, whatever the layout."""
    found = [k for k in store.client.keys("idp:login-address:*") if address in k.decode()]
    return found[0].decode() if found else "absent"
