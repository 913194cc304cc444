"""The web office: server-rendered pages on the gateway, under ``/web/``.

The pages call the same RPCs as the JSON routes in ``gateway.routes`` and validate forms
with the same marshmallow schemas; the session cookie holds the same opaque token as the
API's bearer header, so expiry and revocation are the API's (``gateway.auth``).
"""
