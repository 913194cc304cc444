"""Linking Gmail through a running mailer (real PostgreSQL and RabbitMQ) and the fake
Google on loopback: the callback's state is single use and bound to the browser session,
the fake holds PKCE and the scopes, only the address and the link time persist, a token
Google refuses turns ``can_send`` false, unlinking revokes at Google, and no token is
ever found in a table or a log."""
from __future__ import annotations

import logging
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from mailer.google.errors import NoLiveToken
from mailer.google.tables import google_authorizations, google_links
from suivi_common import clock
from suivi_common.auth import Principal
from suivi_common.errors import Conflict, Forbidden, Unauthorized
from suivi_common.rpc import RpcClient
from suivi_common.testing.waiting import wait_for


def rows(url: str, table: Any) -> list[dict[str, Any]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = [dict(r._mapping) for r in conn.execute(select(table))]
    engine.dispose()
    return found


def mail(to: str = "lead@example.org") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Alice Martin <alice@suivi.test>"
    msg["To"] = to
    msg["Subject"] = "Suite à notre échange"
    msg.set_content("Bonjour,\n")
    return msg


def test_link_then_status_persists_only_the_encrypted_address_and_the_time(
        run_mailer: Any, google_db: str) -> None:
    live = run_mailer()
    before = clock.now()
    done = live.link("user-a", "alice.martin@gmail.test")
    assert done["linked"] is True and done["can_send"] is True
    status = live.status("user-a")
    assert status["address"] == "alice.martin@gmail.test" and status["can_send"] is True
    assert "reason" not in status
    [row] = rows(google_db, google_links)
    assert set(row) == {"user_id", "address", "linked_at"}
    assert row["user_id"] == "user-a" and row["linked_at"] >= before
    assert b"alice.martin" not in bytes(row["address"])  # encrypted at rest
    assert rows(google_db, google_authorizations) == []  # the state was consumed
    assert live.status("someone-else")["linked"] is False  # per user


def test_a_state_works_once(run_mailer: Any, google_consent: Any) -> None:
    live = run_mailer()
    asked = live.authorize("user-b")
    back = google_consent(asked["url"], "b@gmail.test")
    live.complete(back["code"], back["state"], asked["binding"])
    with pytest.raises(Conflict) as replay:
        live.complete(back["code"], back["state"], asked["binding"])
    assert replay.value.code == "state_invalid"


def test_a_state_from_another_browser_session_is_refused_and_burnt(
        run_mailer: Any, google_consent: Any, google_db: str) -> None:
    live = run_mailer()
    asked = live.authorize("victim")  # the attacker forwards this Google URL to someone
    back = google_consent(asked["url"], "someone@gmail.test")
    with pytest.raises(Conflict) as refused:
        live.complete(back["code"], back["state"], "the-other-browser's-cookie")
    assert refused.value.code == "state_not_bound"
    with pytest.raises(Conflict) as again:  # consumed by the refused attempt
        live.complete(back["code"], back["state"], asked["binding"])
    assert again.value.code == "state_invalid"
    assert rows(google_db, google_links) == []
    assert live.google.grants == []  # the code was never exchanged


def test_a_state_expires_after_ten_minutes(run_mailer: Any, google_consent: Any) -> None:
    live = run_mailer()
    asked = live.authorize("user-c")
    back = google_consent(asked["url"], "c@gmail.test")
    clock.advance(timedelta(minutes=10, seconds=1))
    try:
        with pytest.raises(Conflict) as late:
            live.complete(back["code"], back["state"], asked["binding"])
    finally:
        clock.reset()
    assert late.value.code == "state_expired"


def test_the_fake_refuses_a_code_without_its_pkce_verifier(
        run_mailer: Any, google_consent: Any, google_db: str) -> None:
    live = run_mailer()
    first, second = live.authorize("user-d"), live.authorize("user-d")
    back = google_consent(first["url"], "d@gmail.test")
    # the code of the first attempt, completed under the second state: wrong verifier
    with pytest.raises(Conflict) as refused:
        live.complete(back["code"], second["url"].split("state=")[1].split("&")[0],
                      second["binding"])
    assert refused.value.code == "invalid_grant"
    assert rows(google_db, google_links) == [] and live.google.grants == []


def test_a_partial_grant_is_refused(run_mailer: Any, google_consent: Any,
                                    google_db: str) -> None:
    live = run_mailer()
    asked = live.authorize("user-e")
    back = google_consent(asked["url"], "e@gmail.test", fake_grant="openid,email")
    with pytest.raises(Conflict) as refused:
        live.complete(back["code"], back["state"], asked["binding"])
    assert refused.value.code == "scope_refused"
    assert rows(google_db, google_links) == []
    assert live.status("user-e")["can_send"] is False


def test_who_may_call(run_mailer: Any, google_consent: Any) -> None:
    live = run_mailer()
    with RpcClient(live.uri) as anonymous:
        with pytest.raises(Unauthorized):
            anonymous.mailer.google_authorize()
        with pytest.raises(Unauthorized):
            anonymous.mailer.google_complete("c", "s", "b")
    with RpcClient(live.uri, principal=Principal("s1", "staff")) as staff:
        with pytest.raises(Forbidden):
            staff.mailer.google_authorize()
    asked = live.authorize("user-f")
    back = google_consent(asked["url"], "f@gmail.test")
    with RpcClient(live.uri, principal=Principal("user-f", "user", "n")) as user:
        with pytest.raises(Forbidden):  # the callback is the gateway's only
            user.mailer.google_complete(back["code"], back["state"], asked["binding"])


def test_not_configured_means_no_link(run_mailer: Any) -> None:
    live = run_mailer(GOOGLE_CLIENT_ID="")
    with pytest.raises(Conflict) as refused:
        live.authorize("user-g")
    assert refused.value.code == "gmail_not_configured"


def test_a_refused_token_turns_can_send_false_with_relink(run_mailer: Any) -> None:
    live = run_mailer()
    live.link("user-h", "h@gmail.test")
    live.google.revoke_account("h@gmail.test")
    with pytest.raises(NoLiveToken):
        live.channel().send("user-h", mail())
    status = live.status("user-h")
    assert status["linked"] is True and status["address"] == "h@gmail.test"
    assert status["can_send"] is False and status["reason"] == "relink_gmail"
    live.link("user-h", "h@gmail.test")  # linking again heals it
    assert live.status("user-h")["can_send"] is True
    assert live.channel().send("user-h", mail()) is True


def test_unlink_revokes_at_google_and_forgets(run_mailer: Any, google_db: str) -> None:
    live = run_mailer()
    live.link("user-i", "i@gmail.test")
    done = live.unlink("user-i")
    assert done["linked"] is False and done["revoked"] is True
    [grant] = live.google.grants
    assert grant.revoked
    assert rows(google_db, google_links) == []
    assert not live.channel().can_send("user-i")
    assert live.status("user-i") == {"linked": False, "address": None, "linked_at": None,
                                     "can_send": False, "reason": "relink_gmail"}


def test_after_a_restart_the_link_stays_and_asks_to_relink(run_mailer: Any) -> None:
    first = run_mailer()
    first.link("user-j", "j@gmail.test")
    for container in first.containers:
        container.stop()
    second = run_mailer()
    status = second.status("user-j")
    assert status["linked"] is True and status["can_send"] is False
    assert status["reason"] == "relink_gmail"
    with pytest.raises(NoLiveToken):
        second.channel().send("user-j", mail())


def test_with_two_instances_one_holds_the_token_and_unlink_reaches_it(run_mailer: Any) -> None:
    live = run_mailer(instances=2)

    def holders(user_id: str) -> list[int]:
        return [i for i in (0, 1) if live.channel(i).can_send(user_id)]

    for _ in range(4):  # relinking through either instance: still exactly one holder
        live.link("user-k", "k@gmail.test")
        wait_for(lambda: len(holders("user-k")) == 1, what="one instance holding the token")
    live.unlink("user-k")
    wait_for(lambda: holders("user-k") == [], what="every instance forgot the token")
    # the holder revoked the live grant (older ones were replaced, not revoked: at Google a
    # revocation ends the app's access for the account, the new grant's included)
    wait_for(lambda: live.google.grants[-1].revoked, what="the live grant revoked")


def test_no_token_anywhere_in_tables_or_logs(run_mailer: Any, caplog: Any,
                                             token_scan: Any) -> None:
    caplog.set_level(logging.DEBUG)
    live = run_mailer()
    live.link("user-l", "l@gmail.test")
    assert live.channel().send("user-l", mail()) is True
    live.google.fail_next("send", 401)  # a refresh too: one more access token
    assert live.channel().send("user-l", mail()) is True
    live.link("user-m", "m@gmail.test")
    live.google.revoke_account("m@gmail.test")
    with pytest.raises(NoLiveToken):
        live.channel().send("user-m", mail())
    live.link("user-n", "n@gmail.test")
    live.unlink("user-n")
    issued = live.google.issued_tokens()
    assert len(issued) == 7  # 3 refresh tokens, 4 access tokens
    logged = "\n".join(logging.Formatter().format(r) for r in caplog.records)
    assert "Gmail linked for user user-l" in logged  # the logs were captured
    found = token_scan(issued, logged)
    assert found == []


def test_the_scan_would_see_a_token(google_db: str, token_scan: Any) -> None:
    """The scan is not vacuous: a token written into a table and a bytea is found."""
    engine = create_engine(google_db)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO google_links VALUES ('probe', :a, now())"),
                     {"a": b"ya29.PROBE-TOKEN-123"})
        conn.execute(text("INSERT INTO google_authorizations VALUES "
                          "('1//PROBE-REFRESH', 'u', 'b', now())"))
    engine.dispose()
    try:
        found = token_scan(["ya29.PROBE-TOKEN-123", "1//PROBE-REFRESH", "nowhere"],
                           "log line with 1//PROBE-REFRESH", databases=[google_db.rsplit("/", 1)[1]])
        assert len(found) == 3
    finally:
        engine = create_engine(google_db)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM google_links WHERE user_id = 'probe'"))
            conn.execute(text("DELETE FROM google_authorizations WHERE user_id = 'u'"))
        engine.dispose()
