"""The Gmail channel against the fake Google over real loopback HTTP: what arrives is a
valid RFC 5322 message from the linked address; a refused token is dropped (relink);
429 and 5xx are retried, never lost, never sent twice; sends are paced on a settable
clock (no wall time anywhere)."""
from __future__ import annotations

import base64
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from typing import Any

import eventlet
import pytest

from mailer.google import oauth
from mailer.google.config import Endpoints, GoogleSettings
from mailer.google.errors import MessageRefused, NoLiveToken
from mailer.google.gmail import MAX_ATTEMPTS, GmailChannel, http_session
from mailer.google.pacing import Pacer
from mailer.google.tokens import TokenStore

from .conftest import Clock

KEY = b"p" * 32



def linked(fake: Any, email: str, clock: Clock, consent: Any, user_id: str = "u1",
           per_minute: int = 150) -> GmailChannel:
    """A channel holding ``user_id``'s token, obtained through the real flow."""
    settings = GoogleSettings(fake.client_id, fake.client_secret, Endpoints.at(fake.base_url),
                              "https://app.suivi.test/api/mailer/google/callback")
    oauth.allow_plain_loopback(settings)
    http = http_session(settings)
    state = oauth.new_secret()
    verifier = oauth.code_verifier(KEY, state)
    back = consent(oauth.authorization_url(settings, state, verifier), email)
    assert back["state"] == state
    grant = oauth.exchange_code(settings, http, back["code"], verifier)
    address = oauth.userinfo_address(settings, http, grant.access_token)
    store = TokenStore(now=clock.now)
    store.put(user_id, address, grant.access_token, grant.refresh_token, grant.expires_in)
    return GmailChannel(settings, store, Pacer(per_minute, now=clock.now, sleep=clock.sleep),
                        http)


def mail(to: str = "lead@example.org", subject: str = "Votre projet") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Alice Martin <alice@suivi.test>"
    msg["To"] = to
    msg["Reply-To"] = "alice@suivi.test"
    msg["Subject"] = subject
    msg["Date"] = "Tue, 01 Dec 2026 09:00:00 +0000"
    msg["Message-ID"] = make_msgid(domain="suivi.test")
    msg.set_content("Bonjour Léa,\n\nà bientôt.\n")
    msg.add_alternative("<p>Bonjour Léa,</p><p>à bientôt.</p>", subtype="html")
    return msg


@pytest.fixture
def clock() -> Clock:
    return Clock(50_000.0, yielding=True)


def test_the_fake_receives_a_valid_rfc5322_message_from_the_google_address(
        fake_google: Any, clock: Clock, google_consent: Any) -> None:
    channel = linked(fake_google, "alice.martin@gmail.test", clock, google_consent)
    sent = mail()
    assert channel.send("u1", sent) is True
    [got] = fake_google.sent
    msg = got.message
    assert got.account == "alice.martin@gmail.test"
    assert msg["From"] == "Alice Martin <alice.martin@gmail.test>"
    assert parseaddr(msg["To"])[1] == "lead@example.org"
    assert msg["Reply-To"] == "alice@suivi.test"
    assert msg["Subject"] == "Votre projet"
    assert msg["Message-ID"] == sent["Message-ID"] and msg["Date"]
    assert not msg.defects
    assert b"\n" not in got.raw.replace(b"\r\n", b"")  # RFC 5322: CRLF line ends only
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text == "Bonjour Léa,\n\nà bientôt.\n"
    assert "à bientôt" in msg.get_body(("html",)).get_content()
    assert base64.urlsafe_b64decode(got.public()["raw"]) == got.raw


def test_a_token_google_refuses_is_dropped_and_can_send_turns_false(
        fake_google: Any, clock: Clock, google_consent: Any) -> None:
    channel = linked(fake_google, "bruno@gmail.test", clock, google_consent)
    assert channel.can_send("u1")
    fake_google.revoke_account("bruno@gmail.test")  # the user removed the app at Google
    with pytest.raises(NoLiveToken):
        channel.send("u1", mail())  # 401, the refresh is refused too: dropped
    assert not channel.can_send("u1")
    assert fake_google.sent == []
    with pytest.raises(NoLiveToken):  # and stays so: no call to Google at all
        channel.send("u1", mail())
    assert fake_google.requests["send"] == 1


def test_a_401_twice_drops_the_token_even_if_the_refresh_works(
        fake_google: Any, clock: Clock, google_consent: Any) -> None:
    channel = linked(fake_google, "carla@gmail.test", clock, google_consent)
    fake_google.fail_next("send", 401, times=2)
    with pytest.raises(NoLiveToken):
        channel.send("u1", mail())
    assert fake_google.requests["send"] == 2 and fake_google.requests["token"] == 2
    assert not channel.can_send("u1") and fake_google.sent == []


def test_a_single_401_is_healed_by_a_refresh_and_sent_once(
        fake_google: Any, clock: Clock, google_consent: Any) -> None:
    channel = linked(fake_google, "dora@gmail.test", clock, google_consent)
    fake_google.fail_next("send", 401, times=1)
    assert channel.send("u1", mail()) is True
    assert len(fake_google.sent) == 1 and channel.can_send("u1")
    [grant] = fake_google.grants
    assert len(grant.access_tokens) == 2  # refreshed once


def test_an_expiring_access_token_is_refreshed_before_sending(
        fake_google: Any, clock: Clock, google_consent: Any) -> None:
    channel = linked(fake_google, "eve@gmail.test", clock, google_consent)
    clock.t += 3600  # past Google's expires_in
    assert channel.send("u1", mail()) is True
    [grant] = fake_google.grants
    assert len(grant.access_tokens) == 2
    assert fake_google.requests["send"] == 1  # no 401 round trip first


@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_server_errors_are_retried_then_sent_exactly_once(
        fake_google: Any, clock: Clock, google_consent: Any, status: int) -> None:
    channel = linked(fake_google, f"f{status}@gmail.test", clock, google_consent)
    fake_google.fail_next("send", status, times=MAX_ATTEMPTS - 1, retry_after=7)
    assert channel.send("u1", mail()) is True
    assert len(fake_google.sent) == 1
    assert fake_google.requests["send"] == MAX_ATTEMPTS
    assert clock.slept == [7.0] * (MAX_ATTEMPTS - 1)  # Retry-After honoured, on the clock


def test_gmail_down_longer_answers_false_and_nothing_is_sent_nor_lost(
        fake_google: Any, clock: Clock, google_consent: Any) -> None:
    channel = linked(fake_google, "gus@gmail.test", clock, google_consent)
    fake_google.fail_next("send", 503, times=MAX_ATTEMPTS)
    assert channel.send("u1", mail()) is False  # the caller keeps it queued
    assert fake_google.sent == []
    assert clock.slept == [1.0, 2.0, 4.0, 8.0, 16.0]  # exponential backoff without Retry-After
    assert channel.can_send("u1")  # the token is fine
    assert channel.send("u1", mail()) is True  # the caller's next try
    assert len(fake_google.sent) == 1


def test_a_message_gmail_refuses_is_not_retried(
        fake_google: Any, clock: Clock, google_consent: Any) -> None:
    channel = linked(fake_google, "hugo@gmail.test", clock, google_consent)
    bad = mail()
    del bad["To"]
    with pytest.raises(MessageRefused):
        channel.send("u1", bad)
    assert fake_google.requests["send"] == 1 and channel.can_send("u1")


def test_a_burst_is_paced_to_the_quota_none_lost_none_twice(
        fake_google: Any, clock: Clock, google_consent: Any) -> None:
    channel = linked(fake_google, "ines@gmail.test", clock, google_consent, per_minute=20)
    starts: list[float] = []
    acquire = channel.pacer.acquire

    def recording(user_id: str) -> float:
        starts.append(acquire(user_id))
        return starts[-1]

    channel.pacer.acquire = recording  # type: ignore[method-assign]
    pool = eventlet.GreenPool(10)
    results = list(pool.imap(lambda i: channel.send("u1", mail(subject=f"n°{i}")), range(70)))
    assert results == [True] * 70
    subjects = [s.message["Subject"] for s in fake_google.sent]
    assert sorted(subjects) == sorted(f"n°{i}" for i in range(70))  # each exactly once
    assert len(starts) == 70
    starts.sort()
    assert all(starts[i + 20] - starts[i] >= 60.0 for i in range(len(starts) - 20))
    assert starts[-1] - starts[0] >= 180.0  # 70 at 20 a minute: three full windows waited
    assert channel.ready_in("u1") == 0  # the last window holds 10 of its 20
    for _ in range(10):
        acquire("u1")
    assert channel.ready_in("u1") > 0 and channel.ready_in("someone-else") == 0


def test_no_token_means_no_live_token(fake_google: Any, clock: Clock) -> None:
    settings = GoogleSettings(fake_google.client_id, fake_google.client_secret,
                              Endpoints.at(fake_google.base_url), "https://app.suivi.test/cb")
    channel = GmailChannel(settings, TokenStore(now=clock.now), Pacer(), http_session(settings))
    assert not channel.can_send("nobody")
    with pytest.raises(NoLiveToken):
        channel.send("nobody", mail())
