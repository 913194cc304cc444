"""The client's address, believing ``X-Forwarded-For`` only as far as ``TRUSTED_PROXIES`` says.

The address feeds login throttling and is kept with each terms acceptance (terms art. 2),
so a client must not be able to choose it. ``TRUSTED_PROXIES`` is one of:

* unset, empty, ``0`` or ``none`` (the default): no proxy is trusted. The address is the
  TCP peer's and ``X-Forwarded-For`` is ignored, whatever it says.
* a hop count ``N`` (``1``: one load balancer in front): the last ``N`` hops are trusted
  proxies, each of which appended the address it saw. The client is the ``N``-th entry from
  the right of ``X-Forwarded-For``; the entries left of it were written by the client and
  are ignored. A header with fewer than ``N`` entries did not come through the proxies: the
  TCP peer is used.
* a comma list of networks (``10.0.0.0/8, 192.168.1.7``): a hop whose address is in one of
  them is a trusted proxy. Walking from the TCP peer leftwards through
  ``X-Forwarded-For``, the client is the first address that is not a trusted proxy. When the
  TCP peer itself is not trusted, the header is ignored. When every hop is trusted, the
  leftmost is the client.

Several ``X-Forwarded-For`` headers are read as one list, in order. An entry may carry a
port (``203.0.113.9:4711``, ``[2001:db8::1]:443``); it is dropped. An entry that is not an
address (``unknown``, garbage) stops the walk: the nearest trusted hop is used, since
nothing left of it can be believed.
"""
from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class BadTrustedProxies(ValueError):
    """``TRUSTED_PROXIES`` is neither a hop count nor a list of networks."""


@dataclass(frozen=True)
class TrustedProxies:
    hops: int = 0
    networks: tuple[IPNetwork, ...] = ()

    def trusts(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


NONE = TrustedProxies()


@functools.cache
def parse_trusted_proxies(raw: str | None) -> TrustedProxies:
    text = (raw or "").strip()
    if text.lower() in ("", "0", "none"):
        return NONE
    if text.isdigit():
        return TrustedProxies(hops=int(text))
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise BadTrustedProxies(
                f"TRUSTED_PROXIES: {item!r} is neither a hop count nor an address or network"
            ) from None
    return TrustedProxies(networks=tuple(networks))


def parse_address(entry: str) -> IPAddress | None:
    """An address from one hop's entry, without any port or brackets; None if it is none."""
    text = entry.strip().strip('"')
    if text.startswith("["):  # [v6] or [v6]:port
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def forwarded_chain(headers: Sequence[str]) -> list[str]:
    """The ``X-Forwarded-For`` entries, leftmost (the claimed client) first."""
    return [entry.strip() for header in headers for entry in header.split(",") if entry.strip()]


def client_ip(peer: str, forwarded_for: Sequence[str], trusted: TrustedProxies) -> str:
    """The client's address, as a string, given the TCP peer and the ``X-Forwarded-For``
    header values (see the module's rules)."""
    peer_address = parse_address(peer)
    fallback = str(peer_address) if peer_address is not None else peer
    chain = forwarded_chain(forwarded_for)
    if trusted.hops:
        if len(chain) < trusted.hops:
            return fallback
        chosen = parse_address(chain[-trusted.hops])
        return str(chosen) if chosen is not None else fallback
    if not trusted.networks or peer_address is None or not trusted.trusts(peer_address):
        return fallback
    current = peer_address
    for entry in reversed(chain):
        hop = parse_address(entry)
        if hop is None:
            return str(current)
        current = hop
        if not trusted.trusts(hop):
            return str(hop)
    return str(current)
