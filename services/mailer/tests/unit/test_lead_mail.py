"""The message to a lead (RFC 8058 headers, the footer), its unsubscribe token, the rules
of automations and the retry schedule."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from mailer.domain import automations, lead_mail, retries, unsubscribe
from mailer.domain.templating import Rendered
from suivi_common.errors import Invalid

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
URL = "https://app.suivi.test/unsubscribe/u1abc"


def test_every_lead_email_carries_the_one_click_unsubscribe_headers_and_link() -> None:
    msg = lead_mail.build(Rendered("Bonjour", "Texte", None), to="lea@example.test",
                          msg_id="<x.lead@suivi.test>", now=NOW, unsubscribe_url=URL)
    assert msg["List-Unsubscribe"] == f"<{URL}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Message-ID"] == "<x.lead@suivi.test>"
    assert msg["Auto-Submitted"] is None  # typed by the user
    text = msg.get_body(("plain",)).get_content()
    assert text.startswith("Texte") and URL in text and "To stop receiving" in text


def test_the_footer_is_not_doubled_when_the_template_shows_the_link() -> None:
    rendered = Rendered("s", f"Texte\nSe désinscrire : {URL}\n", f"<p><a href=\"{URL}\">x</a></p>")
    out = lead_mail.with_footer(rendered, URL)
    assert out.text.count(URL) == 1 and out.html.count(URL) == 1


def test_an_html_body_gets_the_footer_inside_body_and_automations_say_so() -> None:
    rendered = Rendered("s", "t", "<html><body><p>Hi</p></body></html>")
    msg = lead_mail.build(rendered, to="a@b.test", msg_id="<m@x>", now=NOW,
                          unsubscribe_url=URL + "&x", automatic=True)
    body = msg.get_body(("html",)).get_content()
    assert "u1abc&amp;x" in body and body.index("Se désinscrire") < body.index("</body>")
    assert msg["Auto-Submitted"] == "auto-generated"


def test_the_unsubscribe_token_round_trips_and_refuses_forgeries() -> None:
    key, other = b"k" * 32, b"o" * 32
    owner, bidx = str(uuid.uuid4()), bytes(range(32))
    token = unsubscribe.make_token(key, owner, bidx)
    assert unsubscribe.read_token(key, token) == unsubscribe.Objection(owner, bidx)
    assert unsubscribe.read_token(other, token) is None  # not ours
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    assert unsubscribe.read_token(key, flipped) is None
    assert unsubscribe.read_token(key, "u1") is None
    assert unsubscribe.read_token(key, "nonsense!") is None
    assert unsubscribe.index_value(owner, " Lea@Example.TEST ") == f"{owner}:lea@example.test"


def test_a_rule_is_a_status_slug_and_whole_hours() -> None:
    assert automations.check_rule({"status": "meeting", "delay_hours": 48}) == \
        automations.Rule("meeting", 48, True)
    with pytest.raises(Invalid) as caught:
        automations.check_rule({"status": "Bad Status", "delay_hours": -1, "enabled": "yes"})
    assert set(caught.value.fields) == {"status", "delay_hours", "enabled"}
    with pytest.raises(Invalid) as caught:
        automations.check_rule({"status": "gone"}, statuses=["new", "meeting"])
    assert "pipeline" in caught.value.fields["status"]


def test_only_the_owners_own_moves_fire_and_the_delay_counts_from_the_change() -> None:
    assert automations.fires_on("status_change")
    assert not automations.fires_on("pipeline_change")
    assert automations.due_at(NOW, 3) == NOW + timedelta(hours=3)


LEAD = {"owner_id": "u1", "status": "meeting", "email": "lea@example.test"}


@pytest.mark.parametrize("overrides, reason", [
    ({}, None),
    ({"rule_status": None}, automations.RULE_GONE),
    ({"lead": None}, automations.LEAD_GONE),
    ({"lead": {**LEAD, "owner_id": "u2"}}, automations.LEAD_GONE),
    ({"lead": {**LEAD, "status": "client"}}, automations.LEFT_STATUS),
    ({"paused": True}, automations.PAUSED),
    ({"office_open": False}, automations.OFFICE_CLOSED),
    ({"lead": {**LEAD, "email": None}}, automations.NO_ADDRESS),
])
def test_what_stops_an_automations_email(overrides: dict, reason: str | None) -> None:
    args = {"rule_status": "meeting", "lead": LEAD, "owner_id": "u1", "office_open": True,
            "paused": False, **overrides}
    assert automations.cancel_reason(**args) == reason


def test_retries_back_off_then_give_up_and_a_permanent_refusal_gives_up_at_once() -> None:
    schedule = [60.0, 300.0]
    assert retries.next_attempt(1, NOW, schedule) == NOW + timedelta(seconds=60)
    assert retries.next_attempt(2, NOW, schedule) == NOW + timedelta(seconds=300)
    assert retries.next_attempt(3, NOW, schedule) is None
    assert retries.next_attempt(1, NOW, schedule, permanent=True) is None
    assert retries.delays("[0.5, 1]") == [0.5, 1.0]


class Capture:
    def __init__(self) -> None:
        self.sent: list = []

    def send(self, msg) -> None:
        """What went out, as the server parses it (``mime.Message``: its bytes)."""
        self.sent.append(msg.to_email_message() if hasattr(msg, "to_email_message") else msg)


def test_smtp_channel_sends_from_the_platform_with_the_users_reply_to() -> None:
    from mailer import channels

    smtp = Capture()
    user = {"first_name": "Chloé", "last_name": "Durand", "email": "chloe@example.org"}
    channel = channels.SmtpLeadChannel(smtp, "Suivi <no-reply@suivi.test>", lambda _u: user)
    msg = lead_mail.build(Rendered("s", "t", None), to="lea@example.test", msg_id="<m@x>",
                          now=NOW, unsubscribe_url=URL)
    assert channel.send("u1", msg) == "smtp"
    [sent] = smtp.sent
    assert sent["From"].addresses[0].addr_spec == "no-reply@suivi.test"
    assert sent["From"].addresses[0].display_name == "Chloé Durand via Suivi"
    assert sent["Reply-To"].addresses[0].addr_spec == "chloe@example.org"
    user["email"] = "chloé@example.org"  # internationalised: kept, without a display name
    channel.send("u1", msg)
    assert "chloé@example.org" in str(smtp.sent[-1]["Reply-To"])


def test_an_unavailable_channel_hands_over_to_the_next_and_smtp_is_always_last() -> None:
    from mailer import channels

    class NoToken:
        name = "gmail"

        def send(self, user_id, message) -> str:
            raise channels.ChannelUnavailable("relink_gmail")

    smtp = Capture()
    smtp_channel = channels.SmtpLeadChannel(smtp, "no-reply@suivi.test", lambda _u: {})
    msg = lead_mail.build(Rendered("s", "t", None), to="a@b.test", msg_id="<m@x>", now=NOW,
                          unsubscribe_url=URL)
    assert channels.send([NoToken(), smtp_channel], "u1", msg) == "smtp"
    assert channels.channels_for(None, "u1", smtp_channel) == [smtp_channel]
    previous = channels.gmail_channel_for
    channels.gmail_channel_for = lambda service, user_id, user_of: NoToken()
    try:
        assert [c.name for c in channels.channels_for(None, "u1", smtp_channel)] == ["gmail", "smtp"]
    finally:
        channels.gmail_channel_for = previous


class FakeGmail:
    """What ``mailer.google``'s channel answers: taken, unavailable, no token, refused."""

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome
        self.sent: list = []

    def can_send(self, user_id: str) -> bool:
        return self.outcome != "unlinked"

    def send(self, user_id, message, wait: bool = True) -> bool:
        from mailer.google.errors import MessageRefused, NoLiveToken, Paced

        assert wait is False  # a lead's email never waits for its slot in a worker
        if self.outcome == "paced":
            raise Paced(42.0)
        if self.outcome == "no_token":
            raise NoLiveToken(user_id, "Google refused the token")
        if self.outcome == "refused":
            raise MessageRefused("Gmail refused the message (400)")
        self.sent.append(message)
        return self.outcome == "taken"


@pytest.mark.parametrize("outcome, channel, error", [
    ("taken", "gmail", None),
    ("unlinked", "smtp", None),   # no live token here: SMTP with Reply-To
    ("no_token", "smtp", None),   # Google refused the token mid-way: the same
    ("unavailable", None, False),  # Gmail down: kept queued for a retry
    ("refused", None, True),       # Gmail will never take it: failed
    ("paced", None, "deferred"),   # the user's quota is used up: later, never through SMTP
])
def test_the_gmail_channel_comes_first_and_hands_over_or_refuses(outcome, channel, error) -> None:
    from mailer import channels
    from mailer.adapters.smtp import MailDeliveryError

    class Service:
        gmail = FakeGmail(outcome)

    user = {"first_name": "Chloé", "last_name": "Durand", "email": "chloe@example.org"}
    smtp = Capture()
    smtp_channel = channels.SmtpLeadChannel(smtp, "no-reply@suivi.test", lambda _u: user)
    msg = lead_mail.build(Rendered("s", "t", None), to="a@b.test", msg_id="<m@x>", now=NOW,
                          unsubscribe_url=URL)
    ways = channels.channels_for(Service(), "u1", smtp_channel)
    assert [w.name for w in ways] == (["smtp"] if outcome == "unlinked" else ["gmail", "smtp"])
    if error is None:
        assert channels.send(ways, "u1", msg) == channel
        if channel == "gmail":
            assert "Chloé Durand" in str(Service.gmail.sent[0]["From"]) and smtp.sent == []
        else:
            assert smtp.sent and "chloe@example.org" in str(smtp.sent[0]["Reply-To"])
    elif error == "deferred":
        with pytest.raises(channels.Deferred) as deferred:
            channels.send(ways, "u1", msg)
        assert deferred.value.seconds == 42.0 and smtp.sent == []
    else:
        with pytest.raises(MailDeliveryError) as caught:
            channels.send(ways, "u1", msg)
        assert caught.value.permanent is error and smtp.sent == []
