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
    session_stepped_up = "person:session:stepped_up"  # by an approval in the app
    tokens_revoked = "person:tokens:revoked"
    password_changed = "person:password:changed"
    password_change_failed = "person:password:change_failed"
    password_reset = "person:password:reset"
    agreement_accepted = "person:agreement:accepted"
    consent_granted = "person:consent:granted"
    consent_denied = "person:consent:denied"
    consent_withdrawn = "person:consent:withdrawn"
    authorization_granted = "person:authorization:granted"
    # the account centre's changes to the account itself (idp/flows/change_phone.py,
    # close_account.py, my_data.py, reauth.py; idp/web/account_changes.py)
    reauthentication_failed = "person:reauthentication:failed"
    phone_changed = "person:phone:changed"
    username_changed = "person:username:changed"
    data_exported = "person:data:exported"
    closure_requested = "person:account:closure_requested"
    closure_cancelled = "person:account:closure_cancelled"
    account_closed = "person:account:closed"
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
    # the official app as an authenticator (idp/channels/app.py)
    app_device_enrolled = "person:app_device:enrolled"
    app_device_removed = "person:app_device:removed"
    approval_answered = "person:approval:answered"
    # relying parties and their tokens
    code_replayed = "client:code:replayed"
    refresh_token_reused = "client:refresh_token:reused"
    access_token_revoked = "client:access_token:revoked"
    refresh_token_revoked = "client:refresh_token:revoked"
    # the device authorization grant (RFC 8628: kiosks and TVs; idp/oidc/device.py)
    device_authorization_requested = "client:device_authorization:requested"
    device_authorization_approved = "person:device_authorization:approved"
    device_authorization_denied = "person:device_authorization:denied"
    device_tokens_issued = "client:device_tokens:issued"
    # the hotline: OpenID CIBA (idp/oidc/ciba.py, grants/ciba.py) and SMS read-back
    ciba_requested = "client:ciba:requested"
    ciba_refused = "client:ciba:refused"  # no such caller, a wrong user_code
    ciba_denied = "client:ciba:denied"  # denied by the caller, or the checks refused it
    ciba_tokens_issued = "client:ciba_tokens:issued"
    hotline_code_sent = "person:hotline_code:sent"
    hotline_code_refused = "person:hotline_code:refused"
    hotline_code_verified = "person:hotline_code:verified"
    ciba_ping_delivered = "rp:ciba_ping:delivered"
    ciba_ping_failed = "rp:ciba_ping:failed"
    # a kiosk's ID card chip + face (RFC 7523 JWT bearer; idp/channels/kiosk.py)
    kiosk_card_verified = "person:kiosk_card:verified"
    kiosk_card_refused = "person:kiosk_card:refused"
    kiosk_card_throttled = "client:kiosk_card:throttled"
    kiosk_tokens_issued = "client:kiosk_tokens:issued"
    backchannel_logout_delivered = "rp:backchannel_logout:delivered"
    backchannel_logout_failed = "rp:backchannel_logout:failed"
    # administrators
    person_created = "admin:person:created"
    person_unlocked = "admin:person:unlocked"
    person_verified_in_person = "admin:person:verified_in_person"
    client_created = "admin:client:created"
    client_logo_changed = "admin:client:logo_changed"  # set or removed
    key_rotated = "admin:key:rotated"
    key_retired = "admin:key:retired"
