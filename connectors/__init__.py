"""Adapters to systems we do not own (registries, SMS, directories), each behind a
small interface.

This is the bottom layer: nothing here imports from `idp`, `realname`, `admin`, `app`
or `config`. Per kind (`population`, `enterprise`, `sms`, `face`):

- `<kind>/__init__.py`: the Protocol and its frozen result dataclasses, the only thing
  domain code imports;
- `<kind>/govjson.py`: `GovJson<Kind>`, the HTTP adapter for our signed-JSON protocol
  (HMAC-SM3, see `signing` and `http`);
- `<kind>/fake.py`: `Fake<Kind>`, in memory over synthetic data;
- `<kind>/reference.py`: the reference service, a Flask app serving that fake over
  signed HTTP as its own process (`python -m connectors.<kind>.reference`).

`factory` builds the implementation configuration names; `errors` holds the only two
exceptions a connector raises; `synthetic` makes the made-up persons and enterprises;
`serve_all` runs the four reference services together.
"""
