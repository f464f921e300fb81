"""What the SMS-code pages of registration and recovery say: the wait before a new code,
and the refusals both share, in the person's language."""

from __future__ import annotations

from flask_babel import gettext as _


def wait_words(seconds: int) -> str:
    """A wait as a person says it: "in 45 seconds", "in 12 minutes" (rounded up)."""
    if seconds <= 60:
        return _("in %(n)d seconds", n=max(seconds, 1))
    return _("in %(n)d minutes", n=(seconds + 59) // 60)


def too_many_codes(wait: int | None) -> str:
    return _(
        "Too many codes were requested for this number or from this network. "
        "You can ask for a new code %(when)s.",
        when=wait_words(wait or 60),
    )


def sms_unavailable() -> str:
    return _(
        "The text message could not be sent right now. "
        "Nothing has been saved; please try again later."
    )


def phone_format() -> str:
    return _("Enter a mainland mobile number (11 digits).")


def wrong_code(tries_left: int | None) -> str:
    return _("The code is wrong. %(n)d tries left.", n=tries_left or 0)


def code_dead() -> str:
    return _(
        "This code can no longer be used: it was typed wrongly too many times, or more "
        "than 10 minutes have passed. Ask for a new code below; your number is kept."
    )


def step_gone() -> str:
    return _("This page has expired (after 30 minutes). Please enter your mobile number again.")
