"""What an error page says: for each code a person can meet (OAuth's, OpenID's and our
own), a sentence in the person's language saying what happened and what to do, and the
way back to the service when one is known. The code itself goes in small print, for the
help desk; the protocol's English description is never the main text."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import request, url_for
from flask_babel import LazyString
from flask_babel import lazy_gettext as _  # lazy: the table is built before any request

# The service asked in a way we cannot accept: nothing the person can fix.
_SERVICE_FAULT = _(
    "The service that sent you here asked in a way we cannot accept. This is not your "
    "fault. Go back to the service and try again; if it happens again, tell its help desk "
    "the error code below."
)
_SIGN_IN_FIRST = _(
    "The service needs you to sign in or confirm something before it can go on. Go back "
    "to the service and start again; this time we will show you the page to do it."
)

SENTENCES: dict[str, LazyString] = {
    "invalid_client": _(
        "The service that sent you here is not registered with this platform, so we "
        "cannot sign you in to it. Go back to the service's own website and start again; "
        "if it happens again, tell its help desk the error code below."
    ),
    "redirect_uri": _(
        "The service that sent you here gave an address to return to that it has not "
        "registered, so for your safety we stopped here. Go back to the service and "
        "start again."
    ),
    "invalid_scope": _(
        "The service asked for information it is not allowed to receive, so nothing was "
        "sent. Go back to the service and try again; if it happens again, tell its help "
        "desk the error code below."
    ),
    "access_denied": _(
        "You declined, so the service receives nothing from your account. You can close "
        "this page or go back to the service."
    ),
    "login_required": _SIGN_IN_FIRST,
    "interaction_required": _SIGN_IN_FIRST,
    "consent_required": _SIGN_IN_FIRST,
    "account_selection_required": _SIGN_IN_FIRST,
    "unmet_authentication_requirements": _(
        "This service needs a stronger proof of who you are than your account can give "
        "now. Raise your assurance level in the account centre (for example by verifying "
        "your real name), then go back to the service."
    ),
    "expired": _(
        "This sign-in page is no longer valid: it took too long, or it was already "
        "finished. Nothing was sent. Go back to the service and start again."
    ),
    "invalid_grant": _(
        "The sign-in that approved this request has ended. Start again on the device."
    ),
    "logout_refused": _(
        "The service asked to sign you out in a way we cannot accept, so nothing was "
        "changed: you may still be signed in. Sign out in the account centre, or go back to "
        "the service; if it happens again, tell its help desk the error code below."
    ),
    "form_expired": _(
        "For your security the form could not be accepted because the page was open too "
        "long. Go back, reload the page and try again."
    ),
    "not_found": _("There is no page at this address. Check the address, or go back."),
    "method_not_allowed": _(
        "This page cannot be used this way. Go back to the previous page and try again."
    ),
    "bad_request": _("The request could not be understood. Go back and try again."),
    "forbidden": _("You may not open this page. Go back to the previous page."),
    "request_too_large": _(
        "What was sent is too large. Go back, send less (a smaller file or shorter text) "
        "and try again."
    ),
    "too_many_attempts": _("Too many attempts. Wait a few minutes and try again."),
    "temporarily_unavailable": _(
        "We cannot complete your request right now. Nothing has been changed. Please try "
        "again in a few minutes."
    ),
    "server_error": _(
        "An unexpected error occurred on our side. Nothing has been changed. Please try "
        "again later; if it happens again, tell the help desk the error code below."
    ),
}
# Requests the service built wrongly (RFC 6749 4.1.2.1, OpenID Core 3.1.2.6)
for _code in (
    "invalid_request",
    "unauthorized_client",
    "unsupported_response_type",
    "invalid_request_object",
    "invalid_request_uri",
    "request_not_supported",
    "request_uri_not_supported",
    "registration_not_supported",
):
    SENTENCES[_code] = _SERVICE_FAULT

# what each HTTP status is called in small print when nothing names it better
STATUS_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    429: "too_many_attempts",
    500: "server_error",
    503: "temporarily_unavailable",
}


def sentence(code: str) -> str:
    """What happened and what to do, in the person's language."""
    return str(SENTENCES.get(code, _SERVICE_FAULT))


@dataclass(frozen=True)
class WayBack:
    url: str
    label: str


def way_back(service: tuple[str, str] | None = None) -> WayBack:
    """Back to the service (`service`: its name and a registered redirect URI) when it
    is known; else to the page of ours the person came from; else the account centre.
    Only registered addresses and our own pages are linked: an error page must not
    become a way to send people elsewhere."""
    if service is not None:
        name, uri = service
        parts = urlsplit(uri)
        if parts.scheme in ("https", "http") and parts.netloc:
            return WayBack(
                f"{parts.scheme}://{parts.netloc}/", str(_("Back to %(name)s", name=name))
            )
    came_from = request.referrer
    if came_from and _ours(came_from) and came_from != request.url:
        return WayBack(came_from, str(_("Back to the previous page")))
    return WayBack(url_for("account.overview"), str(_("Go to my account")))


def _ours(url: str) -> bool:
    parts, here = urlsplit(url), urlsplit(request.host_url)
    return (parts.scheme, parts.netloc) == (here.scheme, here.netloc)
