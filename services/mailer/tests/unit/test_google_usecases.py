"""The Gmail link's use cases (``mailer.google.usecases``) on in-memory ports: who may
call, the state consumed first and only once, what is kept (the link, the token in
memory) and what is told to the other instances. No broker, database or Google."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from mailer.google import oauth, usecases
from mailer.google.config import Endpoints, GoogleSettings
from mailer.google.errors import GoogleRefused, GoogleUnavailable
from mailer.google.links import Link, PendingAuthorization
from mailer.google.tokens import TokenStore
from mailer.google.usecases import GoogleCtx
from suivi_common import clock
from suivi_common.auth import Principal
from suivi_common.errors import Conflict, Forbidden, ServiceUnavailable, Unauthorized

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SETTINGS = GoogleSettings("client-1", "secret-1", Endpoints.at("https://google.test"),
                          "https://app.suivi.test/api/mailer/google/callback")
OFF = GoogleSettings("", "", Endpoints.at("https://google.test"),
                     "https://app.suivi.test/api/mailer/google/callback")
USER = Principal("u-1", "user", "n-1")
MAILER = Principal("mailer", "service")


class Links:
    """``LinkStore`` in memory; ``taken`` records each state consumed."""

    def __init__(self) -> None:
        self.pending: dict[str, PendingAuthorization] = {}
        self.links: dict[str, Link] = {}
        self.taken: list[str] = []

    def save_authorization(self, state_hash: str, user_id: str, binding_hash: str,
                           expires_at: datetime, now: datetime) -> None:
        self.pending[state_hash] = PendingAuthorization(user_id, binding_hash, expires_at)

    def take_authorization(self, state_hash: str) -> PendingAuthorization | None:
        self.taken.append(state_hash)
        return self.pending.pop(state_hash, None)

    def save_link(self, user_id: str, address: str, now: datetime) -> Link:
        self.links[user_id] = Link(address, now)
        return self.links[user_id]

    def get_link(self, user_id: str) -> Link | None:
        return self.links.get(user_id)

    def delete_link(self, user_id: str) -> bool:
        return self.links.pop(user_id, None) is not None

    def pkce_key(self) -> bytes:
        return b"k" * 32


class FakeGoogle:
    """``Google``: answers what the test set; records the verifiers and revocations."""

    def __init__(self, settings: GoogleSettings = SETTINGS) -> None:
        self.settings = settings
        self.store = TokenStore()
        self.instance_id = "instance-a"
        self.exchanged: list[tuple[str, str]] = []
        self.revoked: list[str] = []
        self.fail: Exception | None = None
        self.address = "lea@gmail.test"

    def can_send(self, user_id: str) -> bool:
        return self.store.holds(user_id)

    def exchange_code(self, code: str, verifier: str) -> oauth.Grant:
        self.exchanged.append((code, verifier))
        if self.fail is not None:
            raise self.fail
        return oauth.Grant("access-1", "refresh-1", 3600, frozenset(oauth.SCOPES))

    def verified_address(self, access_token: str) -> str:
        assert access_token == "access-1"
        return self.address

    def revoke(self, token: str) -> bool:
        self.revoked.append(token)
        return True


@pytest.fixture(autouse=True)
def frozen() -> Any:
    clock.freeze(NOW)
    yield
    clock.reset()


def ctx_for(principal: Principal | None, google: FakeGoogle | None = None,
            links: Links | None = None) -> tuple[GoogleCtx, list[tuple[str, dict[str, Any]]]]:
    told: list[tuple[str, dict[str, Any]]] = []
    ctx = GoogleCtx(links or Links(), google or FakeGoogle(), principal,
                    lambda event, payload: told.append((event, payload)))
    return ctx, told


def started(ctx: GoogleCtx) -> tuple[str, str]:
    """Authorize, and read back the state from the Google URL: (state, binding)."""
    asked = usecases.authorize(ctx)
    state = parse_qs(urlsplit(asked["url"]).query)["state"][0]
    return state, asked["binding"]


def test_authorize_stores_hashes_only_and_asks_google_with_s256() -> None:
    ctx, _ = ctx_for(USER)
    asked = usecases.authorize(ctx)
    query = parse_qs(urlsplit(asked["url"]).query)
    state = query["state"][0]
    [(state_hash, pending)] = ctx.links.pending.items()  # type: ignore[attr-defined]
    assert state_hash == oauth.digest(state) and pending.user_id == USER.user_id
    assert pending.binding_hash == oauth.digest(asked["binding"])
    assert pending.expires_at == NOW + oauth.STATE_TTL
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"] == [oauth.code_challenge(
        oauth.code_verifier(b"k" * 32, state))]
    assert asked["expires_in"] == 600


def test_authorize_is_for_members_of_a_configured_platform() -> None:
    with pytest.raises(Unauthorized):
        usecases.authorize(ctx_for(None)[0])
    with pytest.raises(Forbidden):
        usecases.authorize(ctx_for(Principal("s", "staff"))[0])
    with pytest.raises(Conflict) as refused:
        usecases.authorize(ctx_for(USER, FakeGoogle(OFF))[0])
    assert refused.value.code == "gmail_not_configured"


def test_complete_links_keeps_the_token_in_memory_and_tells_the_other_instances() -> None:
    ctx, told = ctx_for(USER)
    state, binding = started(ctx)
    done = usecases.complete(ctx, "code-1", state, binding)
    assert done == {"user_id": USER.user_id, "linked": True, "address": "lea@gmail.test",
                    "linked_at": NOW.isoformat(), "can_send": True}
    assert ctx.links.get_link(USER.user_id) == Link("lea@gmail.test", NOW)
    token = ctx.google.store.get(USER.user_id)
    assert token is not None and token.address == "lea@gmail.test"
    assert ctx.google.exchanged == [  # type: ignore[attr-defined]
        ("code-1", oauth.code_verifier(b"k" * 32, state))]
    assert told == [("google_linked", {"user_id": USER.user_id, "holder": "instance-a"})]


def test_a_state_is_consumed_first_even_when_google_fails_and_works_once() -> None:
    google = FakeGoogle()
    ctx, told = ctx_for(USER, google)
    state, binding = started(ctx)
    google.fail = GoogleUnavailable("Google token endpoint unreachable")
    with pytest.raises(ServiceUnavailable):
        usecases.complete(ctx, "code-1", state, binding)
    google.fail = None
    with pytest.raises(Conflict) as again:
        usecases.complete(ctx, "code-1", state, binding)
    assert again.value.code == "state_invalid"
    assert ctx.links.taken == [oauth.digest(state)] * 2  # type: ignore[attr-defined]
    assert ctx.links.get_link(USER.user_id) is None and told == []


@pytest.mark.parametrize("case, code", [("other_browser", "state_not_bound"),
                                        ("expired", "state_expired"),
                                        ("google_refused", "invalid_grant")])
def test_refusals_are_conflicts_with_our_code_and_link_nothing(case: str, code: str) -> None:
    google = FakeGoogle()
    ctx, told = ctx_for(USER, google)
    state, binding = started(ctx)
    if case == "other_browser":
        binding = oauth.new_secret()
    elif case == "expired":
        clock.freeze(NOW + oauth.STATE_TTL + timedelta(seconds=1))
    else:
        google.fail = GoogleRefused("invalid_grant")
    with pytest.raises(Conflict) as refused:
        usecases.complete(ctx, "code-1", state, binding)
    assert refused.value.code == code
    assert ctx.links.get_link(USER.user_id) is None and not google.store.holds(USER.user_id)
    assert told == []


def test_status_says_whether_this_instance_can_send() -> None:
    ctx, _ = ctx_for(USER)
    assert usecases.status(ctx)["reason"] == "relink_gmail"
    state, binding = started(ctx)
    usecases.complete(ctx, "code-1", state, binding)
    assert usecases.status(ctx)["can_send"] is True
    ctx.google.store.drop(USER.user_id)  # a restart: the link stays, the token is gone
    assert usecases.status(ctx) == {"linked": True, "address": "lea@gmail.test",
                                    "linked_at": NOW.isoformat(), "can_send": False,
                                    "reason": "relink_gmail"}


def test_unlink_forgets_revokes_the_refresh_token_and_tells_the_others() -> None:
    ctx, told = ctx_for(USER)
    state, binding = started(ctx)
    usecases.complete(ctx, "code-1", state, binding)
    told.clear()
    assert usecases.unlink(ctx) == {"linked": False, "address": None, "linked_at": None,
                                    "can_send": False, "reason": "relink_gmail",
                                    "revoked": True}
    assert ctx.google.revoked == ["refresh-1"]  # type: ignore[attr-defined]
    assert ctx.links.get_link(USER.user_id) is None
    assert told == [("google_unlinked", {"user_id": USER.user_id, "holder": "instance-a"})]
    assert usecases.unlink(ctx)["revoked"] is False  # nothing held any more


def test_broadcasts_move_tokens_only_when_a_mailer_signed_them() -> None:
    google = FakeGoogle()
    google.store.put(USER.user_id, "lea@gmail.test", "access-1", "refresh-1", 3600)
    forged, _ = ctx_for(Principal("gateway", "service"), google)
    usecases.on_unlinked(forged, {"user_id": USER.user_id})
    usecases.on_linked(forged, {"user_id": USER.user_id, "holder": "instance-b"})
    assert google.store.holds(USER.user_id) and google.revoked == []
    mine, _ = ctx_for(MAILER, google)
    usecases.on_linked(mine, {"user_id": USER.user_id, "holder": "instance-a"})  # our own
    assert google.store.holds(USER.user_id)
    usecases.on_linked(mine, {"user_id": USER.user_id, "holder": "instance-b"})
    assert not google.store.holds(USER.user_id) and google.revoked == []  # dropped only
    google.store.put(USER.user_id, "lea@gmail.test", "access-2", None, 3600)
    usecases.on_unlinked(mine, {"user_id": USER.user_id})
    assert not google.store.holds(USER.user_id) and google.revoked == ["access-2"]
    usecases.on_unlinked(mine, {"user_id": 42})  # not a user id: ignored
