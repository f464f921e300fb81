"""`idp client create | list`: register relying parties from the command line. The
rules are admin.services.clients'; this parses options and prints."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from admin import services
from admin.cli import ACTOR
from admin.services.errors import AdminError, NotFoundError
from idp.oidc.claims import SCOPES_SUPPORTED
from idp.oidc.clients import (
    ACCESS_TOKEN_ALGS,
    AUTH_METHODS,
    CHANNELS,
    CIBA_DELIVERY_MODES,
    GRANT_TYPES,
    ID_TOKEN_ALGS,
    SUBJECT_TYPES,
)
from idp.oidc.logos import MAX_BYTES, MAX_SIDE
from idp.oidc.models import Client

LOGO_FILE = click.Path(dir_okay=False, path_type=Path)
LOGO_HELP = (
    f"The service's logo shown on sign-in and consent: a PNG or JPEG file of at most "
    f"{MAX_BYTES // 1024} KB and {MAX_SIDE}x{MAX_SIDE} pixels."
)


def client_json(client: Client, secret: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": client.client_id,
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "grant_types": client.grant_types,
        "scope": " ".join(client.scopes),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "subject_type": client.subject_type,
        "sector_identifier": client.sector_identifier,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "access_token_signed_alg": client.access_token_signed_alg,
        "userinfo_signed_response_alg": client.userinfo_signed_response_alg,
        "jwks_uri": client.jwks_uri,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "first_party": client.first_party,
        "resource_servers": client.resource_servers,
        "channel": client.channel,
        "backchannel_token_delivery_mode": client.backchannel_token_delivery_mode,
        "backchannel_client_notification_endpoint": (
            client.backchannel_client_notification_endpoint
        ),
        "backchannel_user_code_parameter": client.backchannel_user_code_parameter,
        "frontchannel_logout_uri": client.frontchannel_logout_uri,
    }
    if secret is not None:
        body["client_secret"] = secret
    return body


@click.group("client", help="Relying parties (OpenID Connect clients).")
def client_group() -> None:
    pass


@client_group.command("create")
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True)
@click.option("--grant-type", "grant_types", multiple=True, type=click.Choice(GRANT_TYPES))
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help=f"A scope the client may be granted; repeat it, or give several separated by "
    f"spaces. Supported: {' '.join(SCOPES_SUPPORTED)} (a client_credentials client may "
    "also have API scopes).",
)
@click.option(
    "--token-endpoint-auth-method",
    type=click.Choice(AUTH_METHODS),
    default="client_secret_basic",
    show_default=True,
)
@click.option(
    "--subject-type", type=click.Choice(SUBJECT_TYPES), default="pairwise", show_default=True
)
@click.option("--sector", "sector_identifier", default=None)
@click.option(
    "--id-token-signed-response-alg",
    type=click.Choice(ID_TOKEN_ALGS),
    default="RS256",
    show_default=True,
)
@click.option(
    "--access-token-signed-alg",
    type=click.Choice(ACCESS_TOKEN_ALGS),
    default="ES256",
    show_default=True,
)
@click.option(
    "--userinfo-signed-response-alg",
    type=click.Choice(ID_TOKEN_ALGS),
    default=None,
    help="Answer userinfo as a JWT signed with this algorithm (default: plain JSON).",
)
@click.option("--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True)
@click.option("--backchannel-logout-uri", default=None)
@click.option("--jwks", "jwks_json", default=None, help="JWK set (JSON) for private_key_jwt.")
@click.option("--jwks-uri", default=None, help="Where the client publishes its JWK set.")
@click.option("--first-party", is_flag=True, help="Our own service: no consent page.")
@click.option("--client-id", default=None, help="Choose the client_id (default: random).")
@click.option(
    "--resource-server",
    "resource_servers",
    multiple=True,
    help="client_id of a confidential client (an API) named in this client's access "
    "tokens' aud, which may introspect them; repeat for several.",
)
@click.option(
    "--channel",
    type=click.Choice(CHANNELS),
    default="web",
    show_default=True,
    help="The channel the client serves: the web hall, the official app, a kiosk fleet, "
    "the hotline's agent desk.",
)
@click.option(
    "--backchannel-token-delivery-mode",
    type=click.Choice(CIBA_DELIVERY_MODES),
    default=None,
    help="CIBA: poll for tokens, or be pinged at the notification endpoint.",
)
@click.option(
    "--backchannel-client-notification-endpoint",
    default=None,
    help="CIBA ping mode: where the provider posts (https, or http on loopback).",
)
@click.option(
    "--backchannel-user-code-parameter",
    is_flag=True,
    help="CIBA: the client sends the caller's user_code with its requests.",
)
@click.option(
    "--frontchannel-logout-uri",
    default=None,
    help="OpenID Front-Channel Logout: loaded in an iframe when the person signs out.",
)
@click.option(
    "--logo", "logo_file", type=click.Path(dir_okay=False, path_type=Path), help=LOGO_HELP
)
@click.option("--json", "as_json", is_flag=True)
def client_create(
    as_json: bool,
    jwks_json: str | None,
    grant_types: tuple[str, ...],
    scopes: tuple[str, ...],
    logo_file: Path | None,
    **metadata: Any,
) -> None:
    """Register a client; prints its client_id and (once) its secret."""
    try:
        jwks = json.loads(jwks_json) if jwks_json else None
    except ValueError:
        _refuse("jwks", "not valid JSON", as_json)
    logo = _read_logo(logo_file, as_json) if logo_file else None
    try:
        new = services.clients().register(
            actor=ACTOR,
            grant_types=grant_types or ("authorization_code",),
            scopes=scopes or ("openid",),
            jwks=jwks,
            logo=logo,
            **metadata,
        )
    except AdminError as exc:
        _refuse(exc.field or "", exc.message, as_json)
    body = client_json(new.client, new.secret)
    if as_json:
        click.echo(json.dumps(body, ensure_ascii=False))
    else:
        click.echo(f"client_id:     {new.client.client_id}")
        if new.secret:
            click.echo(f"client_secret: {new.secret}   (shown once; store it now)")


@client_group.command("update")
@click.argument("client_id")
@click.option(
    "--logo", "logo_file", type=click.Path(dir_okay=False, path_type=Path), help=LOGO_HELP
)
@click.option("--remove-logo", is_flag=True, help="Show the service's name only.")
@click.option("--json", "as_json", is_flag=True)
def client_update(client_id: str, logo_file: Path | None, remove_logo: bool, as_json: bool) -> None:
    """Change a registered client: its logo."""
    if (logo_file is None) == (not remove_logo):
        raise click.UsageError("give either --logo FILE or --remove-logo")
    logo = _read_logo(logo_file, as_json) if logo_file else None
    try:
        services.clients().set_logo(actor=ACTOR, client_id=client_id, logo=logo)
    except NotFoundError as exc:
        click.echo(f"idp: {exc.message}", err=True)
        sys.exit(1)
    except AdminError as exc:
        _refuse(exc.field or "", exc.message, as_json)
    if as_json:
        click.echo(json.dumps({"ok": True, "client_id": client_id, "logo": logo is not None}))
    else:
        click.echo(f"{client_id}: logo {'registered' if logo else 'removed'}")


def _read_logo(path: Path, as_json: bool) -> bytes:
    """The file's bytes; one byte more than allowed is enough to refuse it."""
    try:
        with path.open("rb") as file:
            return file.read(MAX_BYTES + 1)
    except OSError as exc:
        _refuse("logo", f"cannot read {path}: {exc.strerror}", as_json)


def _refuse(field: str, message: str, as_json: bool) -> NoReturn:
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": False,
                    "error": "invalid_client_metadata",
                    "field": field,
                    "error_description": message,
                }
            )
        )
    else:
        click.echo(f"idp: invalid client metadata: {message}", err=True)
    sys.exit(1)


@client_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def client_list(as_json: bool) -> None:
    clients = services.clients().list_clients()
    if as_json:
        click.echo(json.dumps([client_json(c) for c in clients], ensure_ascii=False))
        return
    for c in clients:
        click.echo(
            f"{c.client_id}\t{c.name}\t{c.token_endpoint_auth_method}\t{' '.join(c.grant_types)}"
        )
