"""The signed trust boundary in the common library: what a service believes about who is
asking, for calls and for events, with real containers over a real broker."""
from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from kombu import Connection, Exchange, Queue
from nameko.events import BROADCAST, event_handler
from nameko.rpc import rpc

from suivi_common import principals
from suivi_common.auth import CurrentPrincipal, Principal
from suivi_common.broadcast import EventDispatcher
from suivi_common.errors import EXPECTED_ERRORS, Forbidden, Unauthorized
from suivi_common.principals import Signer, Verifier
from suivi_common.rpc import RpcClient, ServiceRpc
from suivi_common.service_base import internal_rpcs, rpc_internal
from suivi_common.testing import infra
from suivi_common.testing.messages import publish_event
from suivi_common.testing.waiting import wait_for
from suivi_common.timers import ConfigTimer

USER = Principal("u-1", "user", "n-1")
SEEN: list[dict[str, Any]] = []


def who(principal: Principal | None) -> dict[str, Any] | None:
    return None if principal is None else {"user_id": principal.user_id, "role": principal.role,
                                           "network_id": principal.network_id}


class Downstream:
    name = "downstream"
    principal = CurrentPrincipal()

    @rpc
    def whoami(self) -> dict[str, Any] | None:
        return who(self.principal)

    @rpc_internal
    def internal(self) -> str:
        return "ok"

    @rpc_internal(services=("upstream",))
    def only_upstream(self) -> str:
        return "ok"


class Spy:
    """Records the raw context a worker received, identity keys included (a plain
    container would keep them; ours strips them before anything runs)."""

    name = "spy"
    principal = CurrentPrincipal()

    @rpc
    def context(self) -> dict[str, Any]:
        return {"principal": who(self.principal)}


class Upstream:
    name = "upstream"
    principal = CurrentPrincipal()
    downstream = ServiceRpc("downstream")
    dispatch = EventDispatcher()

    @rpc
    def relay_whoami(self) -> dict[str, Any] | None:
        return self.downstream.whoami()  # type: ignore[no-any-return]

    @rpc
    def relay_whoami_for_user(self) -> dict[str, Any] | None:
        return self.downstream.for_user().whoami()  # type: ignore[no-any-return]

    @rpc
    def call_internal(self) -> list[str]:
        return [self.downstream.internal(), self.downstream.only_upstream()]

    @rpc
    def broadcast(self) -> None:
        self.dispatch("notice", {"n": 1})


TICKS: list[Any] = []


class Ticking:
    name = "ticking"
    principal = CurrentPrincipal()
    downstream = ServiceRpc("downstream")

    @ConfigTimer.decorator("TICK_SECONDS", 0.05)
    def tick(self) -> None:
        if not TICKS:
            TICKS.append((who(self.principal), self.downstream.internal()))


class Listener:
    name = "listener"
    principal = CurrentPrincipal()

    @event_handler("upstream", "notice", handler_type=BROADCAST, reliable_delivery=False)
    def on_notice(self, payload: dict[str, Any]) -> None:
        SEEN.append({"notice": who(self.principal)})


@pytest.fixture
def cfg(vhost: str) -> dict[str, Any]:
    SEEN.clear()
    TICKS.clear()
    return infra.base_config(vhost, TICK_SECONDS=3600)


# --- tokens ----------------------------------------------------------------------------------

def test_a_token_is_believed_only_with_its_key_its_audience_and_before_its_expiry() -> None:
    key, other = b"k" * 32, b"o" * 32
    clock = [1_000_000.0]
    signer, verifier = Signer(key, now=lambda: clock[0]), Verifier(key, now=lambda: clock[0])
    token = signer.sign(USER, ttl=120)
    assert verifier.verify(token) == USER
    assert Verifier(other).verify(token) is None                       # forged: another key
    assert verifier.verify(token, principals.event_audience("m-1")) is None  # another use
    head, body, mac = token.split(".")
    tampered = f"{head}.{body[:-2]}AA.{mac}"
    assert verifier.verify(tampered) is None
    assert verifier.verify("user_id=u-1;role=staff") is None
    clock[0] += 121
    assert verifier.verify(token) is None                              # expired (cached too)
    assert verifier.verify(signer.sign(USER, issued_at=clock[0] + 3600)) is None  # from the future


def test_a_signer_reuses_a_token_while_most_of_its_life_remains() -> None:
    clock = [1_000_000.0]
    signer = Signer(b"k" * 32, now=lambda: clock[0])
    first = signer.token(USER)
    clock[0] += 20
    assert signer.token(USER) == first
    clock[0] += 20
    assert signer.token(USER) != first


# --- calls -----------------------------------------------------------------------------------

def test_unsigned_forged_and_expired_principals_are_anonymous(cfg: dict[str, Any]) -> None:
    uri = cfg["AMQP_URI"]
    expired = principals.signer().sign(USER, issued_at=time.time() - 3600, ttl=120)
    forged = Signer(b"not-the-platform-key-but-long-enough").sign(USER)
    with infra.running(cfg, Spy):
        with RpcClient(uri, principal=USER) as rpc:
            assert rpc.spy.context() == {"principal": who(USER)}
        for attempt in ({"context": {"user_id": "u-1", "role": "staff"}},   # unsigned headers
                        {"token": forged}, {"token": expired}, {"token": "garbage"}):
            with RpcClient(uri, **attempt) as rpc:
                assert rpc.spy.context() == {"principal": None}, attempt


def test_a_service_calls_as_itself_and_forwards_a_user_only_when_asked(
        cfg: dict[str, Any]) -> None:
    uri = cfg["AMQP_URI"]
    with Connection(uri) as conn:  # a copy of every request sent to downstream
        tap = Queue("tap", Exchange("nameko-rpc", type="topic", durable=True),
                    routing_key="downstream.*", auto_delete=False)(conn.channel())
        tap.declare()
        with infra.running(cfg, Downstream, Upstream):
            with RpcClient(uri, principal=USER, context={"user_id": "u-1", "role": "staff"}) as rpc:
                assert rpc.upstream.relay_whoami() == {"user_id": "upstream", "role": "service",
                                                       "network_id": None}
                assert rpc.upstream.relay_whoami_for_user() == who(USER)
            with RpcClient(uri) as rpc:  # no user to act for: nobody
                assert rpc.upstream.relay_whoami_for_user() is None
        sent = [tap.get(no_ack=True) for _ in range(3)]
    for message in sent:
        assert message is not None
        assert not {"nameko.user_id", "nameko.role", "nameko.network_id"} & set(message.headers)
    tokens = [m.headers.get(f"nameko.{principals.PRINCIPAL_KEY}") for m in sent]
    assert principals.verify(tokens[0]).user_id == "upstream"
    assert principals.verify(tokens[1]) == USER
    assert tokens[2] is None


def test_internal_rpcs_refuse_anyone_but_a_service(cfg: dict[str, Any]) -> None:
    assert internal_rpcs(Downstream) == {"internal": (), "only_upstream": ("upstream",)}
    uri = cfg["AMQP_URI"]
    with infra.running(cfg, Downstream, Upstream):
        with RpcClient(uri) as rpc, pytest.raises(Unauthorized):
            rpc.downstream.internal()
        with RpcClient(uri, principal={"user_id": "s-1", "role": "staff"}) as rpc:
            with pytest.raises(Forbidden):
                rpc.downstream.internal()
        with RpcClient(uri, service="other") as rpc:
            assert rpc.downstream.internal() == "ok"
            with pytest.raises(Forbidden):
                rpc.downstream.only_upstream()
        with RpcClient(uri) as rpc:
            assert rpc.upstream.call_internal() == ["ok", "ok"]
    assert issubclass(Unauthorized, EXPECTED_ERRORS) and issubclass(Forbidden, EXPECTED_ERRORS)


def test_a_timer_acts_as_its_own_service(cfg: dict[str, Any]) -> None:
    cfg["TICK_SECONDS"] = 0.05
    with infra.running(cfg, Downstream, Ticking):
        wait_for(lambda: TICKS, what="a tick")
    assert TICKS == [({"user_id": "ticking", "role": "service", "network_id": None}, "ok")]


# --- events ----------------------------------------------------------------------------------

def test_a_broadcast_carries_its_service_and_never_the_requests_user(cfg: dict[str, Any]) -> None:
    with infra.running(cfg, Upstream, Listener):
        with RpcClient(cfg["AMQP_URI"], principal=USER) as rpc:
            rpc.upstream.broadcast()
        wait_for(lambda: SEEN, what="the notice")
    assert SEEN == [{"notice": {"user_id": "upstream", "role": "service", "network_id": None}}]


def test_event_tokens_are_bound_to_their_message() -> None:
    mid = str(uuid.uuid4())
    token = principals.event_token("producer", mid)
    assert principals.verify(token, principals.event_audience(mid)).user_id == "producer"
    assert principals.verify(token, principals.event_audience("another")) is None
    assert principals.verify(token) is None  # and never authorises a call


def test_reliable_handlers_take_events_only_from_their_source(cfg: dict[str, Any]) -> None:
    """Covered with real databases in test_outbox_inbox; here the refusals: unsigned, signed
    by another service, or carrying another message's token."""
    from suivi_common.consumer import ReliableEventHandler

    handler = ReliableEventHandler("producer", "recorded")
    mid = "m-1"
    header = principals.PRINCIPAL_KEY
    assert handler._signed_by_source({header: principals.event_token("producer", mid)}, mid)
    assert not handler._signed_by_source({}, mid)
    assert not handler._signed_by_source({header: principals.event_token("intruder", mid)}, mid)
    assert not handler._signed_by_source({header: principals.event_token("producer", "m-2")}, mid)
    assert not handler._signed_by_source({header: principals.service_token("producer")}, mid)


def test_the_test_helper_publishes_events_signed_as_their_source(cfg: dict[str, Any]) -> None:
    """``publish_event`` (how tests stand in for another service's relay) signs what it
    sends exactly as a reliable handler expects, and ``signed=False`` does not."""
    from nameko.messaging import decode_from_headers
    from nameko.standalone.events import get_event_exchange

    from suivi_common.consumer import ReliableEventHandler, message_id_of

    handler = ReliableEventHandler("producer", "recorded")
    uri = cfg["AMQP_URI"]
    with Connection(uri) as conn:
        tap = Queue("tap-recorded", get_event_exchange("producer"), routing_key="recorded",
                    auto_delete=False)(conn.channel())
        tap.declare()
        signed = publish_event(uri, "producer", "recorded", {"value": "v"})
        unsigned = publish_event(uri, "producer", "recorded", {"value": "v"}, signed=False)
        got = [wait_for(lambda: tap.get(no_ack=True), what="the tapped event") for _ in range(2)]
    verdicts = {}
    for message in got:
        context = {k: v for k, v in decode_from_headers(message.headers).items()
                   if not k.startswith("x-")}
        verdicts[message_id_of(message)] = handler._signed_by_source(context, message_id_of(message))
    assert verdicts == {signed: True, unsigned: False}


def test_outside_dev_a_missing_key_is_a_clear_error(tmp_path: Any, monkeypatch: Any) -> None:
    from nameko import config

    monkeypatch.delenv("SUIVI_PRINCIPAL_KEY", raising=False)
    with config.patch({"SUIVI_ENV": "prod", "SUIVI_PRINCIPAL_KEY_FILE": str(tmp_path / "k")}):
        with pytest.raises(RuntimeError, match="SUIVI_PRINCIPAL_KEY must be set"):
            principals.load_principal_key()
    with config.patch({"SUIVI_ENV": "prod", "SUIVI_PRINCIPAL_KEY": "s" * 40}):
        assert principals.load_principal_key() == b"s" * 40
    with config.patch({"SUIVI_ENV": "dev", "SUIVI_PRINCIPAL_KEY_FILE": str(tmp_path / "k")}):
        generated = principals.load_principal_key()  # dev: generated once, then reused
        assert len(generated) >= 32 and principals.load_principal_key() == generated
    assert (tmp_path / "k").read_text().strip().encode() == generated
