"""Which address is the client's: ``X-Forwarded-For`` is believed only through
``TRUSTED_PROXIES`` (a hop count or networks), never by default."""
from __future__ import annotations

import pytest
from nameko import config
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.client_ip import (
    BadTrustedProxies,
    client_ip,
    parse_address,
    parse_trusted_proxies,
)
from gateway.http import Req

NONE = parse_trusted_proxies("")
ONE_HOP = parse_trusted_proxies("1")
TWO_HOPS = parse_trusted_proxies("2")
LAN = parse_trusted_proxies("10.0.0.0/8, 192.168.1.7, fd00::/8")


@pytest.mark.parametrize("raw", [None, "", "  ", "0", "none", "NONE"])
def test_by_default_no_proxy_is_trusted(raw: str | None) -> None:
    trusted = parse_trusted_proxies(raw)
    assert trusted.hops == 0 and trusted.networks == ()


@pytest.mark.parametrize("forwarded", [["6.6.6.6"], ["6.6.6.6, 7.7.7.7"], ["1.1.1.1", "2.2.2.2"]])
def test_spoofed_headers_are_ignored_without_a_trusted_proxy(forwarded: list[str]) -> None:
    assert client_ip("203.0.113.9", forwarded, NONE) == "203.0.113.9"
    # networks that do not hold the peer change nothing either
    assert client_ip("203.0.113.9", forwarded, LAN) == "203.0.113.9"


def test_one_hop_takes_the_address_the_proxy_appended() -> None:
    # the client sent "6.6.6.6" itself; the load balancer appended what it saw
    assert client_ip("10.0.0.2", ["6.6.6.6, 198.51.100.4"], ONE_HOP) == "198.51.100.4"
    assert client_ip("10.0.0.2", ["198.51.100.4"], ONE_HOP) == "198.51.100.4"


def test_two_hops_skip_the_inner_proxy() -> None:
    assert client_ip("10.0.0.2", ["6.6.6.6, 198.51.100.4, 10.1.1.1"], TWO_HOPS) == "198.51.100.4"


def test_fewer_entries_than_hops_means_the_proxies_were_bypassed() -> None:
    assert client_ip("203.0.113.9", [], ONE_HOP) == "203.0.113.9"
    assert client_ip("203.0.113.9", ["198.51.100.4"], TWO_HOPS) == "203.0.113.9"


def test_a_cidr_chain_is_walked_from_the_peer_to_the_first_untrusted_hop() -> None:
    chain = ["6.6.6.6, 198.51.100.4, 10.2.3.4, 192.168.1.7"]
    assert client_ip("10.0.0.2", chain, LAN) == "198.51.100.4"


def test_an_untrusted_peer_is_the_client_even_inside_a_chain_of_trusted_addresses() -> None:
    assert client_ip("192.168.1.8", ["198.51.100.4"], LAN) == "192.168.1.8"


def test_when_every_hop_is_trusted_the_leftmost_is_the_client() -> None:
    assert client_ip("10.0.0.2", ["10.9.9.9, 10.0.0.1"], LAN) == "10.9.9.9"
    assert client_ip("10.0.0.2", [], LAN) == "10.0.0.2"


def test_garbage_stops_the_walk_at_the_nearest_trusted_hop() -> None:
    assert client_ip("10.0.0.2", ["198.51.100.4, unknown, 10.0.0.1"], LAN) == "10.0.0.1"
    assert client_ip("10.0.0.2", ["not-an-ip"], ONE_HOP) == "10.0.0.2"


def test_several_headers_are_one_list_and_ports_and_brackets_are_dropped() -> None:
    assert client_ip("10.0.0.2", ["6.6.6.6", "198.51.100.4:4711"], LAN) == "198.51.100.4"
    assert client_ip("fd00::1", ["[2001:db8::7]:443"], LAN) == "2001:db8::7"
    assert parse_address("::ffff:198.51.100.4") == parse_address("198.51.100.4")


@pytest.mark.parametrize("raw", ["eth0", "10.0.0.0/33", "1, 2", "10.0.0.0/8; 192.168.0.0/16"])
def test_a_bad_setting_is_refused(raw: str) -> None:
    with pytest.raises(BadTrustedProxies, match="TRUSTED_PROXIES"):
        parse_trusted_proxies(raw)


def request(peer: str, forwarded: str | None) -> Req:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    environ = EnvironBuilder(method="POST", headers=headers,
                             environ_base={"REMOTE_ADDR": peer}).get_environ()
    return Req(Request(environ), None, {}, None, None)


def test_the_route_helper_reads_the_setting() -> None:
    with config.patch({"TRUSTED_PROXIES": ""}):
        assert request("203.0.113.9", "6.6.6.6").ip == "203.0.113.9"
    with config.patch({"TRUSTED_PROXIES": "127.0.0.1/32"}):
        assert request("127.0.0.1", "6.6.6.6, 198.51.100.4").ip == "198.51.100.4"
        assert request("203.0.113.9", "6.6.6.6").ip == "203.0.113.9"
