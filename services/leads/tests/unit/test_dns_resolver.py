"""The dnspython adapter, driven by a fake dnspython resolver (no network)."""

from typing import Any

import dns.exception
import dns.name
import dns.resolver
import pytest

from leads.adapters.dns_resolver import DnsMailDomainResolver
from leads.domain.refund_checks import DomainNotFoundError, ResolverUnavailableError, check_mail_domain


class MX:
    def __init__(self, exchange: str) -> None:
        self.exchange = dns.name.from_text(exchange)


class FakeResolver:
    """Answers from a table {(domain, rdtype): answer or exception class}."""

    def __init__(self, table: dict[tuple[str, str], Any]) -> None:
        self.table = table
        self.calls: list[tuple[str, str, bool | None, float | None]] = []

    def resolve(self, domain: str, rdtype: str, search: bool | None = None,
                lifetime: float | None = None) -> Any:
        self.calls.append((domain, rdtype, search, lifetime))
        outcome = self.table.get((domain, rdtype), dns.resolver.NoAnswer)
        if isinstance(outcome, type) and issubclass(outcome, BaseException):
            raise outcome()
        return outcome


def adapter(table: dict[tuple[str, str], Any],
            timeout: float = 2.0) -> tuple[DnsMailDomainResolver, FakeResolver]:
    fake = FakeResolver(table)
    return DnsMailDomainResolver(timeout=timeout, resolver=fake), fake


def test_mx_record_means_mail_can_be_delivered() -> None:
    resolve, fake = adapter({("example.fr", "MX"): [MX("mx1.example.fr.")]})
    assert resolve("example.fr") is True
    assert fake.calls == [("example.fr", "MX", False, 2.0)]


def test_null_mx_means_no_mail() -> None:
    resolve, _ = adapter({("example.fr", "MX"): [MX(".")]})
    assert resolve("example.fr") is False


@pytest.mark.parametrize("rdtype", ["A", "AAAA"])
def test_address_record_is_the_fallback_without_mx(rdtype: str) -> None:
    resolve, fake = adapter({("example.fr", rdtype): ["192.0.2.1"]})
    assert resolve("example.fr") is True
    assert fake.calls[0][1] == "MX"


def test_domain_without_mx_or_address_has_no_mail_route() -> None:
    resolve, fake = adapter({})
    assert resolve("example.fr") is False
    assert [call[1] for call in fake.calls] == ["MX", "A", "AAAA"]


def test_nxdomain_becomes_domain_not_found() -> None:
    resolve, _ = adapter({("nope.example", "MX"): dns.resolver.NXDOMAIN})
    with pytest.raises(DomainNotFoundError):
        resolve("nope.example")


@pytest.mark.parametrize(
    "exc",
    [
        dns.exception.Timeout,
        dns.resolver.LifetimeTimeout,
        dns.resolver.NoNameservers,
        dns.resolver.NoResolverConfiguration,
        ConnectionRefusedError,
    ],
)
def test_outages_become_resolver_unavailable(exc: Any) -> None:
    resolve, _ = adapter({("example.fr", "MX"): exc})
    with pytest.raises(ResolverUnavailableError):
        resolve("example.fr")


def test_outage_during_the_address_fallback_is_unavailable_too() -> None:
    resolve, _ = adapter({("example.fr", "A"): dns.exception.Timeout})
    with pytest.raises(ResolverUnavailableError):
        resolve("example.fr")


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({("example.fr", "MX"): [MX("mx.example.fr.")]}, "pass"),
        ({("example.fr", "MX"): dns.resolver.NXDOMAIN}, "failed"),
        ({("example.fr", "MX"): dns.exception.Timeout}, "unknown"),
        ({}, "failed"),
    ],
)
def test_adapter_with_the_pure_check(table: dict[str, Any], expected: str) -> None:
    resolve, _ = adapter(table)
    assert check_mail_domain("example.fr", resolve)["domain"] == expected


def test_default_resolver_uses_the_short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    created = []

    class Spy(FakeResolver):
        def __init__(self) -> None:
            super().__init__({})
            created.append(self)

    monkeypatch.setattr(dns.resolver, "Resolver", Spy)
    resolve = DnsMailDomainResolver(timeout=1.5)
    assert resolve("example.fr") is False
    assert created[0].timeout == 1.5 and created[0].lifetime == 1.5
