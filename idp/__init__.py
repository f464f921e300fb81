"""The OpenID Provider: accounts, sessions, flows, protocol endpoints and web pages."""
