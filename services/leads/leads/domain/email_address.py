"""E-mail syntax and normalisation (email-validator, no network).

Deliverability (DNS) is never checked here: capture must not depend on the
network, and the refund checks do their DNS lookup through an injected resolver.
"""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

MAX_LENGTH = 254


@dataclass(frozen=True)
class EmailAddress:
    normalized: str  # lower-cased, Unicode domain: what we store and index
    ascii_domain: str  # IDNA form: what DNS is asked about


def parse_email(raw: str) -> EmailAddress:
    """Validate the syntax of `raw`; raise ValueError with a readable reason.

    The whole address is lower-cased: mailbox local parts are case-insensitive
    in practice, and the duplicate index must not see 'Jean@' and 'jean@' as
    two people.
    """
    text = raw.strip()
    if len(text) > MAX_LENGTH:
        raise ValueError(f"at most {MAX_LENGTH} characters")
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return EmailAddress(normalized=result.normalized.lower(), ascii_domain=result.ascii_domain.lower())
