"""Automatic checks attached to a refund claim, as evidence for staff.

Every check answers "pass", "failed", "unknown" or "not_applicable", and a
check only says "failed" on positive evidence. In particular the e-mail domain
is "failed" only when DNS answers that the domain does not exist (NXDOMAIN) or
has no mail route; a resolver that times out or cannot be reached gives
"unknown": our own outage must never count against the lead or the user.

The DNS lookup is injected (``MailDomainResolver``) to keep this module pure;
the real one is ``leads.adapters.dns_resolver``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from leads.domain import postal_codes
from leads.domain.countries import same_country
from leads.domain.email_address import parse_email
from leads.domain.lead import LeadData
from leads.domain.names import check_names
from leads.domain.phones import PhoneInfo, PhoneParseError, agrees_with_country, parse_phone
from suivi_common.countries import country_code

PASS = "pass"
FAILED = "failed"
UNKNOWN = "unknown"
NOT_APPLICABLE = "not_applicable"


class DomainNotFoundError(Exception):
    """DNS says the domain does not exist (NXDOMAIN)."""


class ResolverUnavailableError(Exception):
    """DNS could not be asked (timeout, no server reachable)."""


# Returns True if the domain can receive mail (MX, or A/AAAA fallback), False if it
# exists without any mail route; raises DomainNotFoundError or ResolverUnavailableError.
MailDomainResolver = Callable[[str], bool]


def run_checks(lead: LeadData, plan_country: str, resolver: MailDomainResolver) -> dict[str, object]:
    """All automatic checks for a claim, as a JSON-ready dict stored with it."""
    country = country_code(plan_country)
    if country is None:  # plans checked it: a bug, not a claim to refuse
        raise ValueError(f"unknown plan country {plan_country!r}")
    phones = {name: _refresh(info) for name, info in lead.phones().items()}
    phone_reports = {name: _phone_report(info, country) for name, info in phones.items()}
    return {
        "plan_country": country,
        "phones": phone_reports,
        "phone_valid": _phone_valid(phones.values()),
        "country": {
            "lead": PASS if same_country(lead.country, country) else FAILED,
            "phones": _combine(report["country"] for report in phone_reports.values()),
            "postal_code": _postal_code(lead.postal_code, country),
        },
        "email": check_email(lead.email, resolver),
        "names": check_names(lead.first_name, lead.last_name),
    }


def _refresh(info: PhoneInfo) -> PhoneInfo:
    """Re-read the stored number with today's numbering metadata (plans change)."""
    try:
        return parse_phone(info.e164, None)
    except PhoneParseError:
        return info


def _phone_report(info: PhoneInfo, country: str) -> dict[str, object]:
    agrees = agrees_with_country(info, country)
    return {
        **info.as_dict(),
        "country": UNKNOWN if agrees is None else PASS if agrees else FAILED,
    }


def _phone_valid(phones: Iterable[PhoneInfo]) -> str:
    """'failed' only when every number is invalid (the refund reason is "the number(s)")."""
    found = list(phones)
    if not found:
        return NOT_APPLICABLE
    return PASS if any(p.valid for p in found) else FAILED


def _combine(results: Iterable[object]) -> str:
    """One phone in the country is enough; failed needs a clear foreign number."""
    seen = set(results)
    if not seen:
        return NOT_APPLICABLE
    for verdict in (PASS, FAILED):
        if verdict in seen:
            return verdict
    return UNKNOWN


def _postal_code(code: str | None, country: str) -> str:
    if not code:
        return NOT_APPLICABLE
    verdict = postal_codes.matches_country(country, postal_codes.canonical_form(country, code))
    return UNKNOWN if verdict is None else PASS if verdict else FAILED


def check_email(email: str | None, resolver: MailDomainResolver) -> dict[str, object]:
    """{"syntax": ..., "domain": ..., "detail": ...} for the lead's e-mail address."""
    if not email:
        return {"syntax": NOT_APPLICABLE, "domain": NOT_APPLICABLE, "detail": None}
    try:
        address = parse_email(email)
    except ValueError as exc:
        return {"syntax": FAILED, "domain": NOT_APPLICABLE, "detail": str(exc)}
    return {"syntax": PASS, **check_mail_domain(address.ascii_domain, resolver)}


def check_mail_domain(domain: str, resolver: MailDomainResolver) -> dict[str, object]:
    """Ask the resolver; anything but a definite answer is "unknown", never "failed"."""
    try:
        routable = resolver(domain)
    except DomainNotFoundError:
        return {"domain": FAILED, "detail": f"{domain} does not exist"}
    except Exception as exc:  # noqa: BLE001 - a broken lookup must never fail the lead
        return {"domain": UNKNOWN, "detail": f"lookup failed: {type(exc).__name__}"}
    if routable is True:
        return {"domain": PASS, "detail": None}
    if routable is False:
        return {"domain": FAILED, "detail": f"{domain} has no mail server"}
    return {"domain": UNKNOWN, "detail": "resolver gave no answer"}
