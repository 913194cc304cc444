"""The SMTP adapter against a real SMTP server: accepted, refused, unreachable."""
from __future__ import annotations

from email.message import EmailMessage

import pytest

from mailer.adapters.smtp import MailDeliveryError, SmtpSettings, send


def message(to: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Suivi <no-reply@suivi.test>"
    msg["To"] = to
    msg["Subject"] = "Essai"
    msg.set_content("Bonjour")
    return msg


def test_a_message_is_delivered(smtp_server) -> None:
    smtp_server.start()
    send(SmtpSettings(port=smtp_server.port, timeout=5), message("lea@example.test"))
    [got] = smtp_server.received
    assert got.rcpt_tos == ["lea@example.test"]
    assert got.message["Subject"] == "Essai"


def test_a_refused_recipient_raises_without_naming_it(smtp_server) -> None:
    smtp_server.refuse_rcpt.add("gone@example.test")
    smtp_server.start()
    with pytest.raises(MailDeliveryError) as err:
        send(SmtpSettings(port=smtp_server.port, timeout=5), message("gone@example.test"))
    assert "550" in str(err.value)
    assert "gone@example.test" not in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_an_unreachable_server_raises(smtp_server) -> None:
    with pytest.raises(MailDeliveryError, match="unreachable"):
        send(SmtpSettings(port=smtp_server.port, timeout=5), message("lea@example.test"))
