"""Channels (web, app, kiosk, hotline): what each may do and the assurance it can reach.

- `app.py`: the official app as an authenticator, the app API under /app/api (a device
  key enrolled once, then approvals listed, scanned and answered, each request signed by
  that key). Approvals themselves are idp/authn/approvals.py's; the channel waiting for
  one (web QR, device grant, CIBA, step-up) reads what it proved. `app_proofs.py`: who
  is asking (the app's token at enrolment, then device proofs); `app_answers.py`: its
  refusals, in JSON.
- `kiosk.py`: a registered kiosk's ID card chip + face (JWT bearer, captures).
- `hotline.py`: the agent desk's CIBA requests, and the SMS read-back without the app.
- `location.py`: a request's rough location (province or country), shown with a request.
"""
