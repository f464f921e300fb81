"""Features as flags (idp/oidc/features.py): what is on is registered on the server,
mounted by the pipeline, advertised in discovery and accepted at client registration;
what is off is none of these; and a feature on without its implementation stops the start
instead of leaving a hole."""

from __future__ import annotations

from typing import Any

import pytest

from idp.oidc.clients import ClientMetadataError, create_client
from idp.oidc.endpoints import discovery_document
from idp.oidc.features import CIBA_GRANT, DEVICE_CODE_GRANT, FEATURES, JWT_BEARER_GRANT, Features
from idp.oidc.machine.app import MachineEndpoints
from idp.oidc.server import GRANTS, FeatureUnavailableError, OidcServer, register_features

ISSUER = "https://idp.example.test"


def server_with(features: Features) -> OidcServer:
    parts: dict[str, Any] = dict.fromkeys(("clients", "artifacts", "tokens", "accounts"))
    server = OidcServer(**parts, database=None, issuer=ISSUER, features=features)  # type: ignore[arg-type]
    register_features(server, features, store=None)  # type: ignore[arg-type]
    return server


def flask(environ: Any, start_response: Any) -> list[bytes]:
    start_response("404 NOT FOUND", [])
    return [b"flask"]


def test_the_defaults_are_what_the_provider_serves_today() -> None:
    assert FEATURES.grant_types == (
        "authorization_code",
        "refresh_token",
        "client_credentials",
        DEVICE_CODE_GRANT,
        CIBA_GRANT,
        JWT_BEARER_GRANT,
    )
    assert [e.path for e in FEATURES.endpoints] == [
        "/introspect",
        "/revoke",
        "/device_authorization",
        "/backchannel_authenticate",
    ]
    assert FEATURES.client_auth_methods == (
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    )
    assert "none" not in FEATURES.confidential_auth_methods


def test_discovery_advertises_what_is_on_and_nothing_else() -> None:
    document = discovery_document(ISSUER)
    assert document["grant_types_supported"] == list(FEATURES.grant_types)
    assert document["token_endpoint_auth_methods_supported"] == list(FEATURES.client_auth_methods)
    assert document["introspection_endpoint"] == f"{ISSUER}/introspect"
    assert document["revocation_endpoint_auth_methods_supported"] == list(
        FEATURES.client_auth_methods
    )
    assert document["device_authorization_endpoint"] == f"{ISSUER}/device_authorization"
    assert document["backchannel_authentication_endpoint"] == f"{ISSUER}/backchannel_authenticate"
    assert document["backchannel_token_delivery_modes_supported"] == ["poll", "ping"]
    narrow = discovery_document(ISSUER, Features(introspection=False, private_key_jwt=False))
    assert "introspection_endpoint" not in narrow
    assert "introspection_endpoint_auth_methods_supported" not in narrow
    assert "private_key_jwt" not in narrow["token_endpoint_auth_methods_supported"]
    assert "private_key_jwt" not in narrow["revocation_endpoint_auth_methods_supported"]


def test_device_flow_and_ciba_are_flags() -> None:
    assert FEATURES.device_flow  # kiosks and TVs: implemented (idp/oidc/device.py), on
    assert FEATURES.ciba  # the hotline: implemented (idp/oidc/ciba.py), on
    on = Features(device_flow=True, ciba=True)
    document = discovery_document(ISSUER, on)
    assert document["device_authorization_endpoint"] == f"{ISSUER}/device_authorization"
    assert {DEVICE_CODE_GRANT, CIBA_GRANT} <= set(document["grant_types_supported"])


def test_a_feature_on_without_its_implementation_stops_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(GRANTS, DEVICE_CODE_GRANT)  # as before the device grant was written
    with pytest.raises(FeatureUnavailableError, match="not implemented yet"):
        server_with(Features(device_flow=True))


def test_the_server_registers_and_the_pipeline_mounts_only_what_is_on() -> None:
    server = server_with(
        Features(
            introspection=False,
            client_credentials=False,
            device_flow=False,
            ciba=False,
            jwt_bearer=False,
        )
    )
    assert server.endpoint("revocation").ENDPOINT_NAME == "revocation"
    with pytest.raises(KeyError):
        server.endpoint("introspection")
    granted = [grant.GRANT_TYPE for grant, _extensions in server._token_grants]
    assert granted == ["authorization_code", "refresh_token"]
    pipeline = MachineEndpoints(flask, server=server, secure=True, max_body=1024)
    assert set(pipeline.routes) == {"/token", "/revoke"}
    answer = pipeline({"PATH_INFO": "/introspect", "REQUEST_METHOD": "POST"}, lambda *a: None)
    assert answer == [b"flask"]  # not mounted: an ordinary path, Flask's


def test_the_jwt_bearer_grant_is_on_registered_and_advertised() -> None:
    assert FEATURES.jwt_bearer
    assert JWT_BEARER_GRANT in discovery_document(ISSUER)["grant_types_supported"]
    registered = [grant.GRANT_TYPE for grant, _extensions in server_with(FEATURES)._token_grants]
    assert JWT_BEARER_GRANT in registered
    off = discovery_document(ISSUER, Features(jwt_bearer=False))
    assert JWT_BEARER_GRANT not in off["grant_types_supported"]


@pytest.mark.parametrize(
    "metadata, field",
    [
        ({"grant_types": ["password"]}, "grant_types"),
        ({"token_endpoint_auth_method": "tls_client_auth"}, "token_endpoint_auth_method"),
    ],
)
def test_a_client_cannot_register_for_what_is_off(metadata: dict[str, Any], field: str) -> None:
    with pytest.raises(ClientMetadataError) as refused:
        create_client(
            None,  # type: ignore[arg-type]  # refused before the database is asked
            name="接入系统",
            redirect_uris=["https://rp.example.test/cb"],
            **metadata,
        )
    assert refused.value.field == field
