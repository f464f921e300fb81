"""The reference mobile app client (`idp-app`): plays the official app in tests and demos.

A separate program: it talks HTTP to the provider (the sign-in form, the token endpoint,
the app API under /app/api) and imports nothing of the provider's own packages.
`idp_app.client.AppClient` is the library; `idp_app.cli` the console script.
"""
