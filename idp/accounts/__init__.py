"""Persons, their credentials and SSO sessions: the account base every flow builds on."""
