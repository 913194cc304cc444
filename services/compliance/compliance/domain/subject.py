"""The person a data-subject request is about: how their email and phone are normalised,
and the subject index that names them across services without saying who they are.

Normalisation is the one leads and accounts apply before hashing their own blind indexes:
email-validator's normalised address, all lower case; the phone in E.164 (phonenumbers),
national numbers read as French.

Why a subject index of its own: each service's blind indexes are keyed by that service's
per-scope data keys (``suivi_common.crypto``), which no other service holds, so compliance
cannot compute an index that matches leads' or accounts' rows. The subject index is an
HMAC under a key derived from the platform master key (``Vault.subkey``), which every
service can derive alike; a service matches it, or asks compliance for the normalised
values (RPC ``dsr_subject``, services only, while the task is open) to compute its own
per-scope indexes. No address travels in an event.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import NumberParseException, PhoneNumberFormat

from suivi_common.errors import FieldError

DEFAULT_PHONE_REGION = "FR"
MAX_EMAIL = 254
MAX_PHONE = 40
#: ``Vault.subkey`` purposes of the subject-index keys, one per kind of identifier.
SUBJECT_INDEX_PURPOSE = "dsr-subject-index:{kind}"


class SubjectError(FieldError):
    """A data subject's identifier that cannot be used: ``field`` names it."""


def normalise_email(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise SubjectError("email", "must be an email address")
    text = raw.strip()
    if len(text) > MAX_EMAIL:
        raise SubjectError("email", f"at most {MAX_EMAIL} characters")
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise SubjectError("email", str(exc)) from None
    return str(result.normalized).lower()


def normalise_phone(raw: object, region: str = DEFAULT_PHONE_REGION) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise SubjectError("phone", "must be a phone number")
    text = raw.strip()
    if len(text) > MAX_PHONE:
        raise SubjectError("phone", f"at most {MAX_PHONE} characters")
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        raise SubjectError("phone", "not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise SubjectError("phone", "not a valid phone number")
    return str(phonenumbers.format_number(number, PhoneNumberFormat.E164))


@dataclass(frozen=True)
class Subject:
    email: str | None
    phone: str | None


def parse_subject(email: object, phone: object) -> Subject:
    """At least one identifier; each given one valid. Raises with every bad field."""
    problems: dict[str, str] = {}
    clean_email = clean_phone = None
    if email not in (None, ""):
        try:
            clean_email = normalise_email(email)
        except SubjectError as err:
            problems[err.field] = err.message
    if phone not in (None, ""):
        try:
            clean_phone = normalise_phone(phone)
        except SubjectError as err:
            problems[err.field] = err.message
    if not problems and clean_email is None and clean_phone is None:
        problems["email"] = problems["phone"] = "give an email or a phone number"
    if problems:
        raise SubjectProblems(problems)
    return Subject(clean_email, clean_phone)


class SubjectProblems(ValueError):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("invalid subject")
        self.fields = fields


def subject_index(key: bytes, value: str | None) -> str | None:
    """Hex HMAC-SHA256 of an already-normalised identifier under a subject-index key."""
    if value is None:
        return None
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
