"""What the organisation pages say: refusals, roles and agent scopes in the person's
language (the services give (zh, en) pairs; the rest goes through Flask-Babel)."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import gettext as _

from realname.identifiers import RULE_MESSAGES
from realname.legal_persons import ERROR_MESSAGES, LegalPersonError
from realname.organizations import ADMIN, AGENT, AGENT_SCOPES, LEGAL_REPRESENTATIVE


def _zh() -> bool:
    return str(get_locale() or "zh") == "zh"


def _pick(pair: tuple[str, str]) -> str:
    return pair[0] if _zh() else pair[1]


def _sentence(pair: tuple[str, str]) -> str:
    """A (zh, en) phrase of the services as a sentence on its own."""
    text = _pick(pair)
    if _zh():
        return text if text.endswith(("。", "！", "？")) else text + "。"
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def error_text(error: LegalPersonError) -> str:
    """A refusal in the person's language; after an outage, also that nothing changed."""
    if error.code in RULE_MESSAGES:
        return _("The credit code was refused: %(rule)s.", rule=_pick(RULE_MESSAGES[error.code]))
    if error.code == "agent_not_found":
        return _("No account was found for that mobile number, user name or ID number.")
    if error.code == "expiry_date":
        return _("Choose the date on which the authorisation ends.")
    pair = ERROR_MESSAGES.get(error.code)
    if pair is None:
        return _("This could not be done. Please try again.")
    if error.code in ("registry_unavailable", "registry_rejected"):
        return _("%(reason)s Nothing has been changed.", reason=_sentence(pair))
    return _sentence(pair)


def role_label(role: str) -> str:
    return {
        LEGAL_REPRESENTATIVE: _("Legal representative"),
        ADMIN: _("Administrator"),
        AGENT: _("Agent"),
    }.get(role, role)


def scope_label(scope: str) -> str:
    pair = AGENT_SCOPES.get(scope)
    return _pick(pair) if pair else scope


def list_of(items: list[str]) -> str:
    return ("、" if _zh() else ", ").join(items)
