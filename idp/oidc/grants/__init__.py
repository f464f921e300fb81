"""One file per grant; each is an Authlib grant with our storage filled in."""
