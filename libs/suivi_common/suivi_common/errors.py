"""Typed errors that cross RPC unchanged and map onto HTTP statuses at the gateway.

nameko rebuilds a remote exception by calling its registered factory with the
exception's ``args``, after turning every arg that is not a string, list or dict into
a string. So each error's args are ``(message, json of {code, fields, retry_after})``
and a registered factory restores all of them.
"""
from __future__ import annotations

import json
from typing import Any

from nameko.exceptions import get_module_path, registry


class SuiviError(Exception):
    status = 500
    default_code = "error"
    default_message = "Error"
    default_retry_after: int | None = None

    def __init_subclass__(cls, status: int | None = None, code: str | None = None,
                          message: str | None = None, **kwargs: Any) -> None:
        """An error kind is its HTTP status, its code and its default message, given as
        the class's keywords: ``class Gone(SuiviError, status=410, code="gone")``."""
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if code is not None:
            cls.default_code = code
        if message is not None:
            cls.default_message = message

    def __init__(self, message: str | None = None, code: str | None = None,
                 fields: dict[str, Any] | None = None, retry_after: int | None = None) -> None:
        self.message = message = self.default_message if message is None else message
        self.code = code or self.default_code
        self.fields = fields
        if retry_after is None:
            retry_after = self.default_retry_after
        self.retry_after = retry_after
        super().__init__(message, json.dumps(
            {"code": self.code, "fields": fields, "retry_after": retry_after}, default=str))

    def __str__(self) -> str:
        return self.message

    def to_body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            err["fields"] = self.fields
        return {"error": err}


class NotFound(SuiviError, status=404, code="not_found", message="Not found"):
    pass


class Forbidden(SuiviError, status=403, code="forbidden", message="Forbidden"):
    pass


class Unauthorized(SuiviError, status=401, code="unauthorized", message="Authentication required"):
    pass


class Conflict(SuiviError, status=409, code="conflict", message="Conflict"):
    pass


class Invalid(SuiviError, status=400, code="invalid"):
    def __init__(
        self, message: str, fields: dict[str, Any] | None = None, code: str | None = None
    ) -> None:
        SuiviError.__init__(self, message, code, fields)


class TooLarge(SuiviError, status=413, code="payload_too_large", message="Request body too large"):
    pass


class UnsupportedMediaType(SuiviError, status=415, code="unsupported_media_type",
                           message="This type of content is not accepted"):
    pass


class RateLimited(SuiviError, status=429, code="rate_limited"):
    def __init__(self, message: str, retry_after: int = 60, code: str | None = None) -> None:
        SuiviError.__init__(self, message, code, None, retry_after)


class ServiceUnavailable(SuiviError, status=503, code="service_unavailable",
                         message="A service is unavailable; retry shortly."):
    """Another service cannot be reached right now (the broker link failed): retry shortly."""

    default_retry_after = 5


class RepliesLost(ServiceUnavailable, code="replies_lost"):
    """The reply to a call may have been lost (its reply queue vanished while the call was
    pending): the call is failed at once rather than left to time out."""


class DatabaseUnavailable(SuiviError, status=503, code="database_unavailable",
                          message="The service lost its database connection; retry shortly."):
    """The service's database connection was lost (the server ended it, or restarted)
    while a call ran: its transaction did not commit, or its commit's outcome is unknown.
    A fault, not a bug: the caller may retry (a 503 at the gateway)."""

    default_retry_after = 1


class FieldError(ValueError):
    """A domain rule's refusal of one input, before any use case is involved: ``field``
    names the input, ``message`` is for the user."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _rebuild(cls: type[SuiviError], message: str, meta: str = "{}", *rest: Any) -> SuiviError:
    try:
        data = json.loads(meta)
    except (TypeError, ValueError):
        data = {}
    exc = cls.__new__(cls)
    SuiviError.__init__(exc, message, data.get("code"), data.get("fields"), data.get("retry_after"))
    return exc


for _cls in (SuiviError, NotFound, Forbidden, Unauthorized, Conflict, Invalid, TooLarge, RateLimited,
             UnsupportedMediaType, ServiceUnavailable, RepliesLost, DatabaseUnavailable):
    registry[get_module_path(_cls)] = (lambda c: lambda *a: _rebuild(c, *a))(_cls)

EXPECTED_ERRORS = (SuiviError,)
