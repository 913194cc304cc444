"""Emails to leads through a linked Gmail, end to end over HTTP (issue 11, "Done when"):
the admin writes a template and two automations; a member links Gmail at the fake Google
and moves a lead to the status; the email reaches the fake Gmail as the member, with the
placeholders filled in and the personal unsubscribe link (RFC 8058 headers); the lead
unsubscribes with one click, and the next status change sends nothing; the member
unlinks, and the next lead's email goes through the platform's SMTP with ``Reply-To`` set
to the member."""
from __future__ import annotations

import base64
import email
import email.policy
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from tests.e2e.scenario import step, wait_until
from tools.api_client import Api, Mailbox, subscribe_by_card
from tools.platform import Platform

TEMPLATE_TEXT = ("Bonjour {{ lead.first_name }} {{ lead.last_name }} ({{ lead.city }}),\n"
                 "{{ user.first_name }} {{ user.last_name }} de {{ network.name }}\n"
                 "Se désinscrire : {{ unsubscribe_url }}\n")


def browser() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def gmail_sent_to(platform: Platform, address: str) -> list[EmailMessage]:
    """What the fake Google's Gmail took for ``address``, parsed."""
    sent = browser().get(f"http://127.0.0.1:{platform.google_port}/_fake/sent", timeout=30).json()
    messages = []
    for item in sent:
        raw = base64.urlsafe_b64decode(item["raw"] + "=" * (-len(item["raw"]) % 4))
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        if address in str(msg["To"]):
            messages.append(msg)
    return messages


def smtp_sent_to(mailbox: Mailbox, address: str) -> list[EmailMessage]:
    return [m for m in mailbox.messages() if address in str(m["To"])]


def lead_emails(user: Api, lead_id: str) -> list[dict[str, Any]]:
    return user.get(f"/api/leads/{lead_id}/emails")["items"]


def new_lead(user: Api, first_name: str, last_name: str, city: str, address: str) -> str:
    lead = user.post("/api/leads", {
        "first_name": first_name, "last_name": last_name, "country": "FR", "email": address,
        "city": city, "postal_code": "35000", "source_url": "https://salon.example",
        "consent_at": datetime.now(UTC).isoformat()}, expect=201)
    return str(lead["id"])


def link_gmail(platform: Platform, user: Api, address: str) -> None:
    """As the member's browser would: authorize (the binding cookie lands on this session),
    consent at the fake Google, back to the platform's callback."""
    url = user.get("/api/mailer/google/authorize")["url"]
    consent = user.http.get(f"{url}&login_hint={address}", allow_redirects=False, timeout=60)
    assert consent.status_code == 302, consent.text
    back = user.http.get(consent.headers["Location"], allow_redirects=False, timeout=60)
    assert back.status_code == 303, back.text
    assert parse_qs(urlsplit(back.headers["Location"]).query) == {"gmail": ["linked"]}


def test_gmail_automation_unsubscribe_and_smtp_fallback(platform: Platform, base_url: str,
                                                        mailbox: Mailbox, make_network: Any,
                                                        invite_member: Any) -> None:
    tag = uuid.uuid4().hex[:6]
    network_name = f"Réseau Gmail {tag}"
    _, admin = make_network(name=network_name)
    _, user = invite_member(admin)
    subscribe_by_card(user, "monthly")
    me = user.get("/api/me")

    with step("the admin writes a template and the automations of two statuses"):
        template = admin.post("/api/network/email-templates", {
            "name": "Après appel", "subject": "Bonjour {{ lead.first_name }}",
            "body_text": TEMPLATE_TEXT}, expect=201)
        for status in ("contacted", "meeting"):
            admin.post("/api/network/automations",
                       {"status": status, "template_id": template["id"]}, expect=201)

    gmail_address = f"member.{tag}@gmail.test"
    with step("the member links Gmail at the fake Google"):
        link_gmail(platform, user, gmail_address)
        status = user.get("/api/mailer/google")
        assert status["linked"] is True and status["can_send"] is True
        assert status["address"] == gmail_address

    address = f"sophie.{tag}@exemple.fr"
    lead_id = new_lead(user, "Sophie", "Marchand", "Rennes", address)
    with step("the lead enters the status: the email leaves through the member's Gmail"):
        user.post(f"/api/leads/{lead_id}/status", {"status": "contacted"})
        [msg] = wait_until(lambda: gmail_sent_to(platform, address), lambda sent: sent)
        assert parseaddr(str(msg["From"]))[1] == gmail_address
        assert msg["Subject"] == "Bonjour Sophie"
        text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
        assert (f"Bonjour Sophie Marchand (Rennes),\n{me['first_name']} {me['last_name']} "
                f"de {network_name}\n") in text
        [sent] = wait_until(lambda: [e for e in lead_emails(user, lead_id)
                                     if e["status"] == "sent"], lambda found: found)
        assert (sent["origin"], sent["channel"]) == ("automation", "gmail")
        assert smtp_sent_to(mailbox, address) == []

    with step("the email carries the lead's unsubscribe link (RFC 8058)"):
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = str(msg["List-Unsubscribe"]).strip("<>")
        assert link.startswith(f"{base_url}/unsubscribe/") and link in text

    with step("the lead unsubscribes with one click"):
        done = browser().post(link, data="List-Unsubscribe=One-Click", timeout=30,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert done.status_code == 200, done.text
        assert user.get(f"/api/leads/{lead_id}/email-opposition")["opposed"] is True

    with step("the next status change sends nothing"):
        user.post(f"/api/leads/{lead_id}/status", {"status": "meeting"})
        wait_until(lambda: lead_emails(user, lead_id),
                   lambda items: any(e["status"] == "blocked_opposition" for e in items))
        assert len(gmail_sent_to(platform, address)) == 1
        assert smtp_sent_to(mailbox, address) == []

    with step("the member unlinks Gmail: revoked at Google"):
        unlinked = user.call("DELETE", "/api/mailer/google", expect=200)[1]
        assert unlinked["linked"] is False and unlinked["revoked"] is True
        assert user.get("/api/mailer/google")["can_send"] is False

    other = f"hugo.{tag}@exemple.fr"
    other_id = new_lead(user, "Hugo", "Lemaire", "Metz", other)
    with step("without Gmail, mail falls back to the platform's SMTP, Reply-To the member"):
        user.post(f"/api/leads/{other_id}/status", {"status": "contacted"})
        fallback = mailbox.wait_for(other, "Bonjour Hugo", timeout=60)
        assert parseaddr(str(fallback["Reply-To"]))[1] == me["email"]
        assert parseaddr(str(fallback["From"]))[1] != gmail_address
        assert fallback["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        [sent] = wait_until(lambda: [e for e in lead_emails(user, other_id)
                                     if e["status"] == "sent"], lambda found: found)
        assert sent["channel"] == "smtp"
        assert gmail_sent_to(platform, other) == []
