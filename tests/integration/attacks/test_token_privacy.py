"""Relying parties that try to learn about other relying parties' tokens and people
(issue 11, items 3 and 4): introspecting another client's tokens, and joining pairwise
subjects on a shared `sid`. Over HTTP, against `idp serve` on PostgreSQL."""

from __future__ import annotations

from tests.integration.attacks.conftest import Live, jwt_claims


def introspect(live: Live, rp, token: str, **form: str) -> dict:
    answer = live.post("/introspect", data={"token": token, **form}, auth=rp.basic)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_another_client_learns_nothing_by_introspection(live: Live) -> None:
    person = live.person()
    victim = live.client()
    tokens = live.browser(person).tokens_for(victim, scope="openid offline_access")
    snoops = {
        "another RP": live.client(),
        "a client-credentials service": live.client(
            grant_types=["client_credentials"], redirect_uris=[], scopes=["api"]
        ),
    }
    for name, snoop in snoops.items():
        for kind in ("access_token", "refresh_token"):
            for hint in ({}, {"token_type_hint": kind}):
                assert introspect(live, snoop, tokens[kind], **hint) == {"active": False}, (
                    name,
                    kind,
                )
    # the token's own client still learns everything about it
    own = introspect(live, victim, tokens["access_token"])
    assert own["active"] is True and own["sub"] == jwt_claims(tokens["id_token"])["sub"]
    assert introspect(live, victim, tokens["refresh_token"])["active"] is True


def test_another_client_cannot_revoke_a_token(live: Live) -> None:
    person = live.person()
    victim = live.client()
    tokens = live.browser(person).tokens_for(victim, scope="openid offline_access")
    snoop = live.client()
    for kind in ("access_token", "refresh_token"):
        refused = live.post("/revoke", data={"token": tokens[kind]}, auth=snoop.basic)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
        assert introspect(live, victim, tokens[kind])["active"] is True, kind


def test_sid_is_different_for_every_client_of_one_sign_in(live: Live) -> None:
    """Two clients in one sector share the pairwise sub by design; two sectors must not be
    able to join on sid either."""
    person = live.person()
    browser = live.browser(person)
    social = live.client(redirect_uris=["https://social.example.test/cb"])
    housing = live.client(redirect_uris=["https://housing.example.test/cb"])
    a = browser.tokens_for(social, scope="openid")
    b = browser.tokens_for(housing, scope="openid")  # the same SSO session
    id_a, id_b = jwt_claims(a["id_token"]), jwt_claims(b["id_token"])
    assert id_a["sub"] != id_b["sub"]
    assert id_a["sid"] != id_b["sid"]
    assert jwt_claims(a["access_token"])["sid"] == id_a["sid"]
    assert jwt_claims(b["access_token"])["sid"] == id_b["sid"]
    again = browser.tokens_for(social, scope="openid")  # stable for one client and session
    assert jwt_claims(again["id_token"])["sid"] == id_a["sid"]


def test_a_registered_resource_server_learns_about_that_clients_access_tokens_only(
    live: Live,
) -> None:
    api = live.client(grant_types=["client_credentials"], redirect_uris=[], scopes=["api"])
    served = live.client(resource_servers=[api.client_id])
    other = live.client()
    person = live.person()
    browser = live.browser(person)
    mine = browser.tokens_for(served, scope="openid offline_access")
    theirs = browser.tokens_for(other, scope="openid offline_access")

    found = introspect(live, api, mine["access_token"])
    assert found["active"] is True and found["client_id"] == served.client_id
    assert found["aud"] == [served.client_id, api.client_id]
    assert introspect(live, api, mine["refresh_token"]) == {"active": False}
    assert introspect(live, api, theirs["access_token"]) == {"active": False}


def test_resource_servers_must_be_registered_confidential_clients(live: Live) -> None:
    from idp.oidc.clients import ClientMetadataError

    public = live.client(token_endpoint_auth_method="none")
    for bad in ("no-such-client", public.client_id, "x\x00y"):
        try:
            live.client(resource_servers=[bad])
        except ClientMetadataError as refused:
            assert refused.field == "resource_servers"
        else:
            raise AssertionError(f"{bad!r} was accepted as a resource server")
