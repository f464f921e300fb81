"""Adapters to systems we do not own (registries, SMS, directories), each behind a
small interface."""
