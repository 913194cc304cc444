"""Automatic checks attached to a refund claim, with fake DNS resolvers."""

import socket
from dataclasses import replace
from typing import Any

import pytest

from leads.domain.lead import LeadData
from leads.domain.phones import LineType, PhoneInfo
from leads.domain.refund_checks import (
    DomainNotFoundError,
    ResolverUnavailableError,
    check_email,
    check_mail_domain,
    run_checks,
)

# --- fake resolvers -----------------------------------------------------------------


def resolves(domain: str) -> bool:
    return True


def no_mail_route(domain: str) -> bool:
    return False


def nxdomain(domain: str) -> None:
    raise DomainNotFoundError(domain)


def times_out(domain: str) -> None:
    raise TimeoutError("DNS timeout")


def unreachable(domain: str) -> None:
    raise ResolverUnavailableError("no nameserver answered")


def socket_error(domain: str) -> None:
    raise socket.gaierror("network unreachable")


def broken(domain: str) -> None:
    raise RuntimeError("bug in the adapter")


def answers_nonsense(domain: str) -> Any:
    return None


class Recorder:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, domain: str) -> bool:
        self.asked.append(domain)
        return True


@pytest.mark.parametrize(
    ("resolver", "expected"),
    [
        (resolves, "pass"),
        (no_mail_route, "failed"),
        (nxdomain, "failed"),
        (times_out, "unknown"),
        (unreachable, "unknown"),
        (socket_error, "unknown"),
        (broken, "unknown"),
        (answers_nonsense, "unknown"),
    ],
)
def test_mail_domain_outcomes(resolver: Any, expected: str) -> None:
    assert check_mail_domain("example.fr", resolver)["domain"] == expected


def test_an_unreachable_resolver_is_never_failed() -> None:
    for resolver in (times_out, unreachable, socket_error, broken):
        result = check_email("jean@example.fr", resolver)
        assert result["syntax"] == "pass"
        assert result["domain"] == "unknown"
        assert "lookup failed" in result["detail"]


def test_resolver_receives_the_ascii_domain() -> None:
    recorder = Recorder()
    check_email("élodie@exämple.fr", recorder)
    assert recorder.asked == ["xn--exmple-cua.fr"]


def test_bad_email_syntax_fails_without_asking_dns() -> None:
    recorder = Recorder()
    result = check_email("jean@@example", recorder)
    assert result["syntax"] == "failed"
    assert result["domain"] == "not_applicable"
    assert recorder.asked == []


def test_no_email_is_not_applicable() -> None:
    assert check_email(None, broken) == {
        "syntax": "not_applicable",
        "domain": "not_applicable",
        "detail": None,
    }


# --- run_checks ---------------------------------------------------------------------


def test_a_good_french_lead(lead: LeadData) -> None:
    report = run_checks(lead, "FR", resolves)
    assert report == {
        "plan_country": "FR",
        "phones": {
            "mobile": {
                "e164": "+33612345678",
                "valid": True,
                "line_type": "mobile",
                "region": "FR",
                "country": "pass",
            },
            "landline": {
                "e164": "+33123456789",
                "valid": True,
                "line_type": "fixed_line",
                "region": "FR",
                "country": "pass",
            },
        },
        "phone_valid": "pass",
        "country": {"lead": "pass", "phones": "pass", "postal_code": "pass"},
        "email": {"syntax": "pass", "domain": "pass", "detail": None},
        "names": {"result": "pass", "reasons": []},
    }


def test_plan_country_is_normalised(lead: LeadData) -> None:
    assert run_checks(lead, " fr", resolves)["plan_country"] == "FR"


def test_invalid_plan_country_is_a_programming_error(lead: LeadData) -> None:
    with pytest.raises(ValueError):
        run_checks(lead, "France", resolves)


def test_lead_from_another_country_than_the_plan(lead: LeadData) -> None:
    report = run_checks(lead, "BE", resolves)
    assert report["country"] == {"lead": "failed", "phones": "failed", "postal_code": "failed"}
    assert report["phones"]["mobile"]["country"] == "failed"


def test_postal_code_that_fits_the_plan_country_formats(lead: LeadData) -> None:
    be_lead = replace(lead, postal_code="1000")
    assert run_checks(be_lead, "BE", resolves)["country"]["postal_code"] == "pass"
    assert run_checks(be_lead, "FR", resolves)["country"]["postal_code"] == "failed"


def test_postal_code_for_a_country_without_known_format_is_unknown(lead: LeadData) -> None:
    assert run_checks(lead, "US", resolves)["country"]["postal_code"] == "unknown"


def test_no_postal_code_is_not_applicable(lead: LeadData) -> None:
    assert run_checks(replace(lead, postal_code=None), "FR", resolves)["country"]["postal_code"] == (
        "not_applicable"
    )


def test_overseas_lead_on_a_france_plan(lead: LeadData) -> None:
    reunion = replace(
        lead,
        country="RE",
        mobile=PhoneInfo("+262692123456", True, LineType.MOBILE, "RE", 262),
        landline=None,
        postal_code="97400",
    )
    report = run_checks(reunion, "FR", resolves)
    assert report["country"] == {"lead": "pass", "phones": "pass", "postal_code": "pass"}


INVALID = PhoneInfo("+330612", False, LineType.UNKNOWN, None, 33)
INVALID_BE = PhoneInfo("+3212", False, LineType.UNKNOWN, None, 32)


@pytest.mark.parametrize(
    ("mobile", "landline", "phone_valid", "phones_country"),
    [
        (INVALID, None, "failed", "unknown"),
        (INVALID, INVALID, "failed", "unknown"),
        (None, None, "not_applicable", "not_applicable"),
        (INVALID_BE, None, "failed", "failed"),
        (INVALID, "keep", "pass", "pass"),  # one valid number is enough
    ],
)
def test_phone_validity_summary(lead: LeadData, mobile: Any, landline: Any, phone_valid: str,
                                phones_country: str) -> None:
    changed = replace(lead, mobile=mobile, landline=lead.landline if landline == "keep" else landline)
    report = run_checks(changed, "FR", resolves)
    assert report["phone_valid"] == phone_valid
    assert report["country"]["phones"] == phones_country


def test_one_local_and_one_foreign_phone_pass_the_country_check(lead: LeadData) -> None:
    be_landline = PhoneInfo("+3225111111", True, LineType.FIXED_LINE, "BE", 32)
    report = run_checks(replace(lead, landline=be_landline), "FR", resolves)
    assert report["phones"]["landline"]["country"] == "failed"
    assert report["country"]["phones"] == "pass"


def test_stored_phone_info_is_rechecked(lead: LeadData) -> None:
    # A number stored as valid/mobile is re-read with current metadata.
    stale = PhoneInfo("+33612345678", False, LineType.UNKNOWN, None, 33)
    report = run_checks(replace(lead, mobile=stale, landline=None), "FR", resolves)
    assert report["phones"]["mobile"]["valid"] is True
    assert report["phones"]["mobile"]["line_type"] == "mobile"


@pytest.mark.parametrize(
    ("resolver", "domain"),
    [(nxdomain, "failed"), (times_out, "unknown"), (resolves, "pass")],
)
def test_email_domain_in_report(lead: LeadData, resolver: Any, domain: str) -> None:
    assert run_checks(lead, "FR", resolver)["email"]["domain"] == domain


def test_fake_looking_names_in_report(lead: LeadData) -> None:
    report = run_checks(replace(lead, first_name="qsdfgh", last_name="Test"), "FR", resolves)
    assert report["names"]["result"] == "suspicious"
    assert "last_name:placeholder" in report["names"]["reasons"]
