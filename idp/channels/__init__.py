"""Channels (web, app, kiosk, hotline): what each may do and the assurance it can reach."""
