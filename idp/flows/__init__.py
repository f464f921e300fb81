"""User-facing flows, one file each: the steps a person goes through, top to bottom."""
