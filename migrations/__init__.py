"""Alembic migrations, one revision per schema change; upgrade and downgrade both tested."""
