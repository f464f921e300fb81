"""`make bench`: a load generator (its own processes, loopback only, bounded in count and
time) against `idp serve --workers 2`, a minimal Flask baseline and, when node is there,
node oidc-provider 9.13. Entry point: `python -m tests.bench.run`."""
