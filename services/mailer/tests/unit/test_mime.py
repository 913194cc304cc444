"""The MIME writer's bytes, parsed back by the standard library's parser, say what was
written: headers (encoded-words, folding, addresses), bodies, the alternative part."""
from __future__ import annotations

from email import message_from_bytes, policy
from email.headerregistry import Address

import pytest

from mailer.domain import mime

LONG = ("Votre conseillère Léa vous écrit à propos de votre projet immobilier à "
        "Saint-Étienne-du-Rouvray, ñ, 日本語, et d'autres détails encore plus longs")


def body(part) -> str:
    """A part's text, line ends as written (the parser keeps the CRLFs of SMTP)."""
    return part.get_content().replace("\r\n", "\n")


def parsed(msg: mime.Message):
    return message_from_bytes(msg.as_bytes(), policy=policy.default)


def test_headers_and_bodies_round_trip_through_the_standard_parser() -> None:
    msg = mime.Message("Bonjour Léa,\n\nUne ligne très " + "longue " * 30 + "\n. point\n",
                       "<p>Bonjour <b>Léa</b> &amp; ✓</p>", language="fr")
    msg["Subject"] = LONG
    msg["From"] = Address("Léa Martin via Suivi", addr_spec="no-reply@suivi.test")
    msg["Reply-To"] = Address("Martin, Léa (agence)", addr_spec="lea@example.test")
    msg["To"] = "client@example.test"
    msg["Message-ID"] = "<abc.lead@suivi.test>"
    msg["List-Unsubscribe"] = "<https://app.suivi.test/unsubscribe/" + "x" * 120 + ">"
    msg["X-Long"] = "ascii words " * 20
    raw = msg.as_bytes()
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert all(len(line) <= 78 for line in head.split(b"\r\n") if b"Unsubscribe" not in line)
    got = parsed(msg)
    assert got["Subject"] == LONG
    assert got["From"].addresses[0].display_name == "Léa Martin via Suivi"
    assert got["From"].addresses[0].addr_spec == "no-reply@suivi.test"
    assert got["Reply-To"].addresses[0].display_name == "Martin, Léa (agence)"
    assert got["Reply-To"].addresses[0].addr_spec == "lea@example.test"
    assert got["To"] == "client@example.test"
    assert got["Message-ID"] == "<abc.lead@suivi.test>"
    assert got["List-Unsubscribe"] == msg["List-Unsubscribe"]
    assert got["X-Long"] == "ascii words " * 20
    assert got["Content-Language"] == "fr"
    assert got.get_content_type() == "multipart/alternative"
    assert body(got.get_body(("plain",))) == msg.text
    assert body(got.get_body(("html",))).rstrip("\n") == msg.html
    assert not msg.needs_smtputf8()


def test_text_only_and_a_quoted_ascii_name() -> None:
    msg = mime.Message("Texte seul")
    msg["From"] = Address('Dupont, "Jo"', addr_spec="jo@example.test")
    msg["Subject"] = "Plain"
    got = parsed(msg)
    assert got.get_content_type() == "text/plain"
    assert body(got).rstrip("\n") == "Texte seul"
    assert got["From"].addresses[0].display_name == 'Dupont, "Jo"'


def test_a_non_ascii_address_needs_smtputf8() -> None:
    msg = mime.Message("x")
    msg["To"] = "léa@exemple.test"
    assert msg.needs_smtputf8()
    assert message_from_bytes(msg.as_bytes(), policy=policy.default)["To"] == "léa@exemple.test"


@pytest.mark.parametrize("value", ["a\r\nBcc: x@y.test", "a\nb", "a\rb"])
def test_a_line_break_in_a_header_is_refused(value: str) -> None:
    msg = mime.Message("x")
    with pytest.raises(ValueError):
        msg["Subject"] = value
    with pytest.raises(ValueError):
        msg["To"] = Address(value, addr_spec="a@b.test")
        msg.as_bytes()


def test_headers_read_and_delete_like_email_message() -> None:
    msg = mime.Message("x")
    msg["From"] = "a@b.test"
    msg["From"] = "c@d.test"
    assert msg["from"] == "a@b.test" and msg["Reply-To"] is None
    del msg["From"]
    assert msg["From"] is None
