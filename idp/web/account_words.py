"""How the account centre names things in people's words: services' claims as the consent
page names them, devices as "Chrome on Windows", channels, and rough places."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

import ua_parser
from flask import current_app
from flask_babel import gettext as _

from idp.accounts.sessions import SsoSession
from idp.authn.models import Consent
from idp.authn.release import scope_claims
from idp.channels.location import PRIVATE_NETWORK, THIS_MACHINE, UNKNOWN, rough_location


def channel_name(channel: str) -> str:
    return {
        "web": _("Online service hall"),
        "app": _("Mobile app"),
        "kiosk": _("Kiosk"),
        "hotline": _("Hotline"),
    }.get(channel, channel)


def device_name(sso: SsoSession) -> str:
    """What the person would call the device: the app or kiosk that signed it in, else
    the browser and system its User-Agent names ("Chrome on Windows")."""
    if sso.device:
        return device_label(sso.device)
    return _user_agent_name(sso.user_agent or "") or _("Unknown device")


def device_label(name: str) -> str:
    """A device's own name (an app install, a kiosk), unless it is a User-Agent string:
    that is shown as the browser and system it names."""
    parsed = _user_agent_name(name) if "/" in name else None
    return parsed or name


def _user_agent_name(user_agent: str) -> str | None:
    browser, system = _browser_and_system(user_agent)
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    return browser or system


def place(sso: SsoSession) -> str:
    """Roughly where the session was opened: a province or a country, never closer."""
    found = rough_location(sso.ip)
    return {
        THIS_MACHINE: _("This computer"),
        PRIVATE_NETWORK: _("A private network"),
        UNKNOWN: _("Unknown place"),
    }.get(found, found)


def consent_labels(consent: Consent) -> list[str]:
    """What a service may read, in the consent page's words, each once (acr, amr and
    auth_time share one line there too)."""
    label = current_app.jinja_env.globals["claim_label"]
    claims = sorted((scope_claims(consent.scopes) | set(consent.claims or ())) - {"sub"})
    labels = [_("An identifier for you, used only by this service")]
    labels += [str(label(claim)) for claim in claims]  # type: ignore[operator]
    if "offline_access" in consent.scopes:
        labels.append(_("Access while you are signed out, until you revoke it"))
    return list(dict.fromkeys(labels))


@lru_cache(maxsize=1024)
def _browser_and_system(user_agent: str) -> tuple[str | None, str | None]:
    found = ua_parser.parse(user_agent) if user_agent else None
    browser = found.user_agent.family if found and found.user_agent else None
    system = found.os.family if found and found.os else None
    return (browser if browser != "Other" else None), (system if system != "Other" else None)


def day(moment: datetime) -> str:
    """The date in China of `moment` (a closure's day)."""
    return (moment.astimezone(UTC) + timedelta(hours=8)).strftime("%Y-%m-%d")
