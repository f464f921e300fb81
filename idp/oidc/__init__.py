"""Authorization server, grants and protocol endpoints (OpenID Connect, OAuth 2.0)."""
