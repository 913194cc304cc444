"""DNS adapter for the refund checks' e-mail domain lookup (dnspython).

Implements ``leads.domain.refund_checks.MailDomainResolver``: MX first, then the
A/AAAA fallback of RFC 5321. It translates dnspython's outcomes into the two
domain exceptions, so the pure rule decides what "failed" means:
NXDOMAIN -> DomainNotFoundError; timeouts, unreachable or broken servers ->
ResolverUnavailableError (reported as "unknown"). The short lifetime keeps a claim
request fast even when DNS is down.
"""

from __future__ import annotations

import dns.exception
import dns.name
import dns.resolver

from leads.domain.refund_checks import DomainNotFoundError, ResolverUnavailableError

DEFAULT_TIMEOUT_SECONDS = 3.0

# Timeout/LifetimeTimeout, NoNameservers, NoResolverConfiguration, malformed answers...
_UNAVAILABLE = (dns.exception.DNSException, OSError)


class DnsMailDomainResolver:
    """Callable `(ascii_domain) -> bool`: True if the domain can receive mail."""

    def __init__(
        self, timeout: float = DEFAULT_TIMEOUT_SECONDS, resolver: dns.resolver.Resolver | None = None
    ):
        self._timeout = timeout
        self._resolver = resolver

    def _get_resolver(self) -> dns.resolver.Resolver:
        if self._resolver is None:
            resolver = dns.resolver.Resolver()
            resolver.timeout = self._timeout
            resolver.lifetime = self._timeout
            self._resolver = resolver
        return self._resolver

    def __call__(self, domain: str) -> bool:
        try:
            resolver = self._get_resolver()
            try:
                answer = resolver.resolve(domain, "MX", search=False, lifetime=self._timeout)
            except dns.resolver.NoAnswer:
                return self._has_address(resolver, domain)
            # RFC 7505 "null MX" (a single MX pointing at ".") means: accepts no mail.
            return any(record.exchange != dns.name.root for record in answer)
        except dns.resolver.NXDOMAIN as exc:
            raise DomainNotFoundError(domain) from exc
        except _UNAVAILABLE as exc:
            raise ResolverUnavailableError(f"{type(exc).__name__}: {exc}") from exc

    def _has_address(self, resolver: dns.resolver.Resolver, domain: str) -> bool:
        for rdtype in ("A", "AAAA"):
            try:
                resolver.resolve(domain, rdtype, search=False, lifetime=self._timeout)
                return True
            except dns.resolver.NoAnswer:
                continue
        return False
