"""The rules of the Gmail link, without broker, database or network: PKCE, state,
scopes, the token store's secrecy, pacing on a settable clock, the From header."""
from __future__ import annotations

import base64
import pickle
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

import pytest
from nameko import config

from mailer.google import oauth
from mailer.google.config import Endpoints, GoogleSettings
from mailer.google.errors import GoogleRefused
from mailer.google.gmail import raw_of, with_sender
from mailer.google.links import Link
from mailer.google.pacing import Pacer
from mailer.google.tokens import TokenStore
from mailer.google.usecases import status_of
from suivi_common.production import UnsafeConfiguration

from .conftest import Clock

KEY = b"k" * 32
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SETTINGS = GoogleSettings("client-1", "secret-1", Endpoints.at("https://google.test"),
                          "https://app.suivi.test/api/mailer/google/callback")



# --- PKCE ------------------------------------------------------------------------------

def test_s256_challenge_is_the_rfc_7636_example() -> None:
    # RFC 7636, appendix B
    assert oauth.code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == \
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    # and what oauthlib itself computes
    from oauthlib.oauth2 import WebApplicationClient
    verifier = oauth.code_verifier(KEY, "some-state")
    assert oauth.code_challenge(verifier) == WebApplicationClient("c").create_code_challenge(
        verifier, "S256")


def test_verifier_is_a_valid_rfc_7636_verifier_derived_from_state_and_key() -> None:
    state = oauth.new_secret()
    verifier = oauth.code_verifier(KEY, state)
    assert 43 <= len(verifier) <= 128
    assert set(verifier) <= set(string.ascii_letters + string.digits + "-._~")
    assert oauth.code_verifier(KEY, state) == verifier  # recomputed at the callback
    assert oauth.code_verifier(KEY, oauth.new_secret()) != verifier
    assert oauth.code_verifier(b"j" * 32, state) != verifier  # nobody without the key
    assert verifier not in state


def test_states_and_bindings_are_long_random_and_stored_hashed() -> None:
    values = {oauth.new_secret() for _ in range(100)}
    assert len(values) == 100
    assert all(len(base64.urlsafe_b64decode(v + "=")) == 32 for v in values)
    value = values.pop()
    assert oauth.digest(value) != value and len(oauth.digest(value)) == 64


def test_authorization_url_asks_exactly_our_scopes_with_s256() -> None:
    state = oauth.new_secret()
    verifier = oauth.code_verifier(KEY, state)
    url = oauth.authorization_url(SETTINGS, state, verifier)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == SETTINGS.endpoints.authorize
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert q["scope"].split() == ["openid", "email", "https://www.googleapis.com/auth/gmail.send"]
    assert q["code_challenge_method"] == "S256"
    assert q["code_challenge"] == oauth.code_challenge(verifier)
    assert verifier not in url
    assert q["state"] == state and q["response_type"] == "code"
    assert q["client_id"] == "client-1" and q["redirect_uri"] == SETTINGS.redirect_uri
    assert q["access_type"] == "offline"
    assert "include_granted_scopes" not in q  # would add scopes granted before


# --- scopes ----------------------------------------------------------------------------

@pytest.mark.parametrize("granted", [
    "openid email https://www.googleapis.com/auth/gmail.send",
    # as Google spells it back
    "openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/gmail.send",
    ["https://www.googleapis.com/auth/gmail.send", "openid", "email"],
])
def test_exactly_our_scopes_are_accepted(granted: object) -> None:
    oauth.check_scopes(granted)  # type: ignore[arg-type]


@pytest.mark.parametrize("granted", [
    "openid email",  # the user unticked Gmail
    "openid email https://www.googleapis.com/auth/gmail.send https://mail.google.com/",
    "openid email https://www.googleapis.com/auth/gmail.readonly",
    "",
    None,
])
def test_any_other_grant_is_refused(granted: object) -> None:
    with pytest.raises(GoogleRefused) as refused:
        oauth.check_scopes(granted)  # type: ignore[arg-type]
    assert refused.value.code == "scope_refused"


# --- state -----------------------------------------------------------------------------

@dataclass
class Pending:
    binding_hash: str
    expires_at: datetime


def test_a_state_brought_back_by_the_session_that_asked_passes() -> None:
    binding = oauth.new_secret()
    oauth.check_authorization(Pending(oauth.digest(binding), NOW + oauth.STATE_TTL), binding, NOW)


@pytest.mark.parametrize("pending, binding, code", [
    (None, "b", "state_invalid"),  # unknown, or already consumed by a first callback
    (Pending(oauth.digest("b"), NOW), "b", "state_expired"),
    (Pending(oauth.digest("b"), NOW + timedelta(minutes=1)), "another", "state_not_bound"),
    (Pending(oauth.digest("b"), NOW + timedelta(minutes=1)), None, "state_not_bound"),
    (Pending(oauth.digest("b"), NOW + timedelta(minutes=1)), "", "state_not_bound"),
])
def test_a_state_is_refused_unknown_used_expired_or_from_another_session(
        pending: Pending | None, binding: str | None, code: str) -> None:
    with pytest.raises(GoogleRefused) as refused:
        oauth.check_authorization(pending, binding, NOW)
    assert refused.value.code == code


def test_state_lives_ten_minutes() -> None:
    assert oauth.STATE_TTL == timedelta(minutes=10)


# --- tokens ----------------------------------------------------------------------------

def test_a_live_token_never_shows_nor_serialises() -> None:
    store = TokenStore(now=Clock().now)
    token = store.put("u1", "a@gmail.test", "ya29.ACCESS-SECRET", "1//REFRESH-SECRET", 3600)
    for text in (repr(token), str(token), repr(store)):
        assert "ACCESS-SECRET" not in text and "REFRESH-SECRET" not in text
    with pytest.raises(TypeError):
        pickle.dumps(token)
    with pytest.raises(TypeError):
        pickle.dumps(store)


def test_an_expired_token_without_refresh_is_gone_one_with_refresh_stays() -> None:
    clock = Clock()
    store = TokenStore(now=clock.now)
    store.put("short", "a@gmail.test", "acc", None, 3600)
    store.put("long", "b@gmail.test", "acc2", "ref2", 3600)
    clock.t += 3600
    assert store.get("short") is None and not store.holds("short")
    assert store.holds("long")


def test_drop_only_removes_the_token_it_was_given() -> None:
    store = TokenStore()
    old = store.put("u", "a@gmail.test", "acc1", "ref1", 3600)
    new = store.put("u", "a@gmail.test", "acc2", "ref2", 3600)
    assert store.drop("u", only=old) is None
    assert store.get("u") is new
    assert store.replace_access("u", old, "acc3", None, 3600) is None  # relinked meanwhile
    assert store.drop("u") is new and store.get("u") is None


# --- pacing (a settable clock: no wall time) ---------------------------------------------

def test_pacing_lets_150_a_minute_through_then_waits_never_refuses() -> None:
    clock = Clock()
    pacer = Pacer(150, now=clock.now, sleep=clock.sleep)
    starts = [pacer.acquire("u") for _ in range(400)]
    assert len(starts) == 400  # nothing dropped
    assert starts[:150] == [1000.0] * 150  # the first burst goes at once
    assert starts[150] == 1060.0  # the 151st waits for the first to leave the window
    for i in range(len(starts) - 150):
        assert starts[i + 150] - starts[i] >= 60.0  # never more than 150 in any minute
    assert starts == sorted(starts)


def test_pacing_is_per_user() -> None:
    clock = Clock()
    pacer = Pacer(3, now=clock.now, sleep=clock.sleep)
    for _ in range(3):
        pacer.acquire("a")
    assert pacer.ready_in("a") == 60.0
    assert pacer.ready_in("b") == 0.0
    assert pacer.acquire("b") == 1000.0  # b does not wait for a
    clock.t += 30
    assert pacer.ready_in("a") == 30.0


def test_try_acquire_takes_a_free_slot_or_says_when_one_frees_and_never_sleeps() -> None:
    clock = Clock()

    def no_sleep(seconds: float) -> None:
        raise AssertionError("try_acquire slept")

    pacer = Pacer(3, now=clock.now, sleep=no_sleep)
    assert [pacer.try_acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert pacer.try_acquire("a") == 60.0  # nothing taken: the quota is used
    assert pacer.try_acquire("a") == 60.0
    assert pacer.try_acquire("b") == 0.0  # b does not wait for a
    clock.t += 45
    assert pacer.try_acquire("a") == 15.0
    clock.t += 15
    # the first three left the window: three slots again, then none
    assert [pacer.try_acquire("a") for _ in range(4)] == [0.0, 0.0, 0.0, 60.0]


def test_pacing_serves_waiting_senders_in_arrival_order() -> None:
    import eventlet

    clock = Clock()

    def green_sleep(seconds: float) -> None:
        clock.sleep(seconds)
        eventlet.sleep(0)  # let the others run, as a real wait would

    pacer = Pacer(2, now=clock.now, sleep=green_sleep)
    order: list[tuple[int, float]] = []

    def send(i: int) -> None:
        order.append((i, pacer.acquire("u")))

    pool = eventlet.GreenPool()
    for i in range(7):
        pool.spawn(send, i)
        eventlet.sleep(0)
    pool.waitall()
    assert [i for i, _ in order] == list(range(7))
    starts = [t for _, t in order]
    assert all(starts[i + 2] - starts[i] >= 60.0 for i in range(5))


# --- the message -----------------------------------------------------------------------

def test_from_becomes_the_google_address_keeping_the_name() -> None:
    msg = EmailMessage()
    msg["From"] = "Alice Martin <alice@suivi.test>"
    msg["To"] = "lead@example.org"
    msg["Subject"] = "Bonjour Léa"
    msg.set_content("Texte accentué")
    sent = with_sender(msg, "alice.martin@gmail.test")
    assert sent["From"] == "Alice Martin <alice.martin@gmail.test>"
    assert msg["From"] == "Alice Martin <alice@suivi.test>"  # the caller's copy is untouched
    parsed = message_from_bytes(base64.urlsafe_b64decode(raw_of(sent)), policy=policy.default)
    assert parsed["Subject"] == "Bonjour Léa"
    assert parsed.get_content().strip() == "Texte accentué"


def test_status_says_relink_whenever_it_cannot_send() -> None:
    link = Link("a@gmail.test", NOW)
    assert status_of(link, True) == {"linked": True, "address": "a@gmail.test",
                                     "linked_at": NOW.isoformat(), "can_send": True}
    assert status_of(link, False)["reason"] == "relink_gmail"
    assert status_of(None, True) == {"linked": False, "address": None, "linked_at": None,
                                     "can_send": False, "reason": "relink_gmail"}


# --- settings --------------------------------------------------------------------------

def test_production_refuses_plain_http_google_endpoints() -> None:
    with config.patch({"SUIVI_ENV": "prod", "GOOGLE_CLIENT_ID": "c", "GOOGLE_CLIENT_SECRET": "s",
                       "GOOGLE_BASE_URL": "http://google.internal"}, clear=False):
        with pytest.raises(UnsafeConfiguration):
            GoogleSettings.from_config()
    with config.patch({"SUIVI_ENV": "prod", "GOOGLE_CLIENT_ID": "c", "GOOGLE_BASE_URL": ""},
                      clear=False):
        settings = GoogleSettings.from_config()
        assert settings.endpoints.send.startswith("https://gmail.googleapis.com/")
    with config.patch({"SUIVI_ENV": "test", "GOOGLE_CLIENT_ID": "", "PUBLIC_URL": "https://x.test/"},
                      clear=False):
        settings = GoogleSettings.from_config()
        assert not settings.enabled
        assert settings.redirect_uri == "https://x.test/api/mailer/google/callback"
    assert "secret-1" not in repr(SETTINGS)


def test_the_client_secret_is_a_production_secret_once_linking_is_on() -> None:
    from mailer.google.gmail import Gmail
    from suivi_common.production import secret_problem

    with config.patch({"GOOGLE_CLIENT_ID": ""}, clear=False):
        assert Gmail().secrets_used == ()
    with config.patch({"GOOGLE_CLIENT_ID": "123.apps.googleusercontent.com"}, clear=False):
        assert Gmail().secrets_used == ("GOOGLE_CLIENT_SECRET",)
    # the fake's committed secret would be refused in production
    assert secret_problem("GOOGLE_CLIENT_SECRET", "fake-google-dev-client-secret-not-secret")
