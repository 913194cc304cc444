"""Accounts events become real emails over a real SMTP conversation; the set-password
link is fetched from accounts when the mail goes out, never carried by the event."""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from suivi_common import clock, events
from suivi_common.rpc import RpcClient


def address() -> str:
    return f"lea.{uuid.uuid4().hex[:8]}@example.test"


def invited(links: dict[str, Any], email: str, **over: Any) -> dict[str, Any]:
    """An invitation event as accounts emits it (a link reference), the link itself held by
    the fake accounts (``links``)."""
    ref, token = str(uuid.uuid4()), uuid.uuid4().hex
    expires_at = over.pop("expires_at", (clock.now() + timedelta(days=7)).isoformat())
    links[ref] = {"set_password_url": f"https://app.suivi.test/mot-de-passe?t={token}",
                  "expires_at": expires_at}
    return events.example("user_invited", **{"email": email, "first_name": "Léa", "link_ref": ref,
                                             "expires_at": expires_at, **over})


def link_of(links: dict[str, Any], payload: dict[str, Any]) -> str:
    return str(links[payload["link_ref"]]["set_password_url"])


def platform_logs(caplog: Any) -> str:
    """What the platform logged (the test SMTP server's own log, mail.log, left out)."""
    formatter = logging.Formatter()
    return "\n".join(formatter.format(r) for r in caplog.records
                     if not r.name.startswith("mail.log"))


def text_and_html(message: Any) -> tuple[str, str]:
    return (message.get_body(("plain",)).get_content(),
            message.get_body(("html",)).get_content())


def test_invitation_email_arrives_with_its_link(live_mailer, until, read_ledger, caplog, links,
                                                asked) -> None:
    caplog.set_level(logging.INFO)
    email = address()
    payload = invited(links, email)
    url = link_of(links, payload)
    mid = live_mailer.publish("user_invited", payload)
    [got] = until(lambda: live_mailer.smtp.to(email))
    msg = got.message
    assert got.rcpt_tos == [email]
    assert msg["To"] == email
    assert msg["From"] == "Suivi <no-reply@suivi.test>"
    assert msg["Subject"] == "Votre invitation à rejoindre Suivi"
    assert msg["Message-ID"] == f"<{mid}.invitation@suivi.test>"
    text, html = text_and_html(msg)
    assert url in text and url in html
    assert "Bonjour Léa," in text
    # asked of accounts, as the mailer (a signed service principal)
    assert [(p.user_id, p.role) for p in asked if p] == [("mailer", "service")]

    # the ledger says what went out, with nothing personal in it
    [row] = until(lambda: [r for r in read_ledger(live_mailer.db_url) if r["message_id"] == mid])
    assert row["kind"] == "invitation"
    assert row["user_id"] == payload["user_id"]
    assert row["smtp_message_id"] == msg["Message-ID"]
    stored = " ".join(str(v) for v in row.values())
    token = url.split("=")[1]
    assert email not in stored and token not in stored

    # logs name the kind and the user, never the address or the link
    logs = platform_logs(caplog)
    assert f"invitation email sent to user {payload['user_id']}" in logs
    assert email not in logs and token not in logs


def test_password_reset_email_arrives(live_mailer, until, links) -> None:
    email = address()
    payload = invited(links, email)
    del payload["network_id"]
    live_mailer.publish("password_reset_requested", payload)
    [got] = until(lambda: live_mailer.smtp.to(email))
    assert got.message["Subject"] == "Réinitialisation de votre mot de passe Suivi"
    text, html = text_and_html(got.message)
    assert link_of(links, payload) in text and link_of(links, payload) in html


def test_a_link_accounts_no_longer_honours_is_not_mailed(live_mailer, until, links,
                                                         asked) -> None:
    """Used, replaced by a newer one, or expired since the event: accounts refuses it, and
    the mailer sends nothing (the newer email, if any, is the one that works)."""
    replaced, fresh = address(), address()
    payload = invited(links, replaced)
    del links[payload["link_ref"]]
    live_mailer.publish("password_reset_requested", payload)
    live_mailer.publish("password_reset_requested", invited(links, fresh))
    until(lambda: live_mailer.smtp.to(fresh))
    until(lambda: len(asked) >= 2)
    assert live_mailer.smtp.to(replaced) == []


def test_terms_notice_email_arrives(live_mailer, until) -> None:
    email = address()
    live_mailer.publish("terms_notice", events.example("terms_notice", email=email,
                                                       first_name="Léa", version="2026-12"))
    [got] = until(lambda: live_mailer.smtp.to(email))
    assert got.message["Subject"] == (
        "Les conditions d'utilisation de Suivi évoluent (version 2026-12)")
    text, _html = text_and_html(got.message)
    assert "https://app.suivi.test/" in text


def test_the_same_message_id_twice_sends_one_email(live_mailer, until, read_ledger,
                                                   links) -> None:
    email = address()
    payload = invited(links, email)
    mid = str(uuid.uuid4())
    live_mailer.publish("user_invited", payload, message_id=mid)
    live_mailer.publish("user_invited", payload, message_id=mid)
    until(lambda: live_mailer.smtp.to(email))
    until(live_mailer.settled, what="both deliveries handled")
    assert len(live_mailer.smtp.to(email)) == 1
    assert len([r for r in read_ledger(live_mailer.db_url) if r["message_id"] == mid]) == 1


def test_an_expired_link_is_not_mailed(live_mailer, until, links) -> None:
    stale, fresh = address(), address()
    live_mailer.publish("user_invited", invited(
        links, stale, expires_at=(clock.now() - timedelta(minutes=1)).isoformat()))
    live_mailer.publish("user_invited", invited(links, fresh))
    until(lambda: live_mailer.smtp.to(fresh))
    until(live_mailer.settled, what="the stale invitation handled")
    assert live_mailer.smtp.to(stale) == []


def test_an_unsendable_event_is_dead_lettered_without_the_address_or_the_link(
        live_mailer, until, staff, caplog, links) -> None:
    caplog.set_level(logging.INFO)
    live_mailer.smtp.refuse_rcpt.add("refused@example.test")
    payload = invited(links, "refused@example.test")
    mid = live_mailer.publish("user_invited", payload)

    def letters() -> list[dict[str, Any]]:
        with RpcClient(live_mailer.cfg["AMQP_URI"], principal=staff) as rpc:
            return [lt for lt in rpc.mailer.list_dead_letters() if lt["message_id"] == mid]

    [letter] = until(letters)
    assert letter["handler"] == "mailer.on_user_invited"
    assert letter["attempts"] == 4
    assert "refused the recipient" in letter["error"]
    assert "refused@example.test" not in letter["error"]
    token = link_of(links, payload).split("=")[1]
    assert token not in str(letter)  # the event held a reference; the link never got in
    logs = platform_logs(caplog)
    assert "refused the recipient" in logs  # the failures were logged...
    assert "refused@example.test" not in logs  # ...without the address
