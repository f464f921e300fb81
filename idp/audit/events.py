"""Every audit event the provider writes, in one catalogue: `subject:object:action`.

Code names an event by its member (`Event.login_succeeded`), never by a string, so a
reader (or an auditor) finds here everything the trail can say, and a typo is an
AttributeError at import rather than a row no query finds. Values are what the
`audit_events.event` column holds; never rename one that has been written.
"""

from __future__ import annotations

from enum import StrEnum


class Event(StrEnum):
    # a person's own actions, and what happened to their account
    account_registered = "person:account:registered"
    account_locked = "person:account:locked"
    login_succeeded = "person:login:succeeded"
    login_failed = "person:login:failed"
    login_blocked = "person:login:blocked"
    session_ended = "person:session:ended"
    tokens_revoked = "person:tokens:revoked"
    password_changed = "person:password:changed"
    password_change_failed = "person:password:change_failed"
    password_reset = "person:password:reset"
    agreement_accepted = "person:agreement:accepted"
    consent_granted = "person:consent:granted"
    consent_denied = "person:consent:denied"
    consent_withdrawn = "person:consent:withdrawn"
    authorization_granted = "person:authorization:granted"
    # identity proofing (realname/proofing.py)
    realname_verified = "person:realname:verified"
    realname_refused = "person:realname:refused"
    realname_identity_taken = "person:realname:identity_taken"
    realname_throttled = "person:realname:throttled"
    realperson_verified = "person:realperson:verified"
    realperson_not_live = "person:realperson:not_live"
    realperson_mismatch = "person:realperson:mismatch"
    realperson_throttled = "person:realperson:throttled"
    # legal persons and their agents (realname/legal_persons.py, agents.py)
    organization_registered = "person:organization:registered"
    organization_approved = "person:organization:approved"
    organization_rejected = "person:organization:rejected"
    agent_authorised = "person:agent:authorised"
    agent_revoked = "person:agent:revoked"
    # relying parties and their tokens
    code_replayed = "client:code:replayed"
    refresh_token_reused = "client:refresh_token:reused"
    access_token_revoked = "client:access_token:revoked"
    refresh_token_revoked = "client:refresh_token:revoked"
    backchannel_logout_delivered = "rp:backchannel_logout:delivered"
    backchannel_logout_failed = "rp:backchannel_logout:failed"
    # administrators
    person_created = "admin:person:created"
    person_unlocked = "admin:person:unlocked"
    person_verified_in_person = "admin:person:verified_in_person"
    client_created = "admin:client:created"
    key_rotated = "admin:key:rotated"
    key_retired = "admin:key:retired"
