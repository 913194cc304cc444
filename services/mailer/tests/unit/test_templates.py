"""Rendering of the system emails: subjects, links, French wording, HTML escaping."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailer import templates

URL = "https://app.suivi.test/set-password?token=abc123&x=1"
EXPIRES = datetime(2026, 3, 14, 8, 30, tzinfo=UTC)  # 09:30 in Paris (winter time)
EVIL = '<script>alert("x")</script><img src=x onerror="steal()">'


def test_invitation_subject_link_and_french_text() -> None:
    mail = templates.invitation("Léa", URL, EXPIRES)
    assert mail.subject == "Votre invitation à rejoindre Suivi"
    assert URL in mail.text
    assert "Bonjour Léa," in mail.text
    assert "choisissez votre mot de passe" in mail.text
    assert "expire le 14/03/2026 à 09:30 (heure de Paris)" in mail.text
    assert "You have been invited to Suivi" in mail.text
    # the link in the HTML part is the same URL, attribute-escaped
    assert 'href="https://app.suivi.test/set-password?token=abc123&amp;x=1"' in mail.html
    assert '<html lang="fr">' in mail.html


def test_password_reset_subject_link_and_french_text() -> None:
    summer = datetime(2026, 7, 1, 8, 30, tzinfo=UTC)  # 10:30 in Paris (summer time)
    mail = templates.password_reset("Léa", URL, summer)
    assert mail.subject == "Réinitialisation de votre mot de passe Suivi"
    assert URL in mail.text
    assert "réinitialisation du mot de passe" in mail.text
    assert "votre mot de passe actuel reste valable" in mail.text
    assert "expire le 01/07/2026 à 10:30" in mail.text
    assert "A password reset was requested" in mail.text
    assert "Choisir un nouveau mot de passe</a>" in mail.html


def test_terms_notice_names_the_version_and_links_to_login() -> None:
    mail = templates.terms_notice("Léa", "2026-11", "https://app.suivi.test/")
    assert mail.subject == "Les conditions d'utilisation de Suivi évoluent (version 2026-11)"
    assert "mises à jour (version 2026-11)" in mail.text
    assert "https://app.suivi.test/" in mail.text
    assert "Log in to review and accept them" in mail.text
    assert 'href="https://app.suivi.test/"' in mail.html


@pytest.mark.parametrize("render", [
    lambda name: templates.invitation(name, URL, EXPIRES),
    lambda name: templates.password_reset(name, URL, EXPIRES),
    lambda name: templates.terms_notice(name, "3", "https://app.suivi.test/"),
])
def test_a_malicious_first_name_is_escaped_in_html(render) -> None:  # type: ignore[no-untyped-def]
    mail = render(EVIL)
    assert "<script>" not in mail.html
    assert "<img" not in mail.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in mail.html
    # the plain-text part shows the name as typed (it is not markup there)
    assert EVIL in mail.text


def test_a_name_cannot_add_lines_to_the_mail() -> None:
    mail = templates.invitation("Léa\r\n\r\nCliquez ici: http://evil.test", URL, EXPIRES)
    assert "Bonjour Léa Cliquez ici: http://evil.test," in mail.text
    assert mail.text.count("http://evil.test") == 1


def test_no_first_name_still_greets() -> None:
    assert templates.invitation(None, URL, EXPIRES).text.startswith("Bonjour,\n")
    assert templates.invitation("   ", URL, EXPIRES).text.startswith("Bonjour,\n")


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "/relative/path", "ftp://x.test/a",
                                 "https://x.test/a b", "https://x.test/\r\nBcc: a@b.c"])
def test_links_must_be_absolute_http_urls(bad: str) -> None:
    with pytest.raises(ValueError):
        templates.invitation("Léa", bad, EXPIRES)
    with pytest.raises(ValueError):
        templates.terms_notice("Léa", "1", bad)


def test_an_html_url_quote_cannot_break_the_attribute() -> None:
    url = 'https://app.suivi.test/s?t="><script>x()</script>'
    mail = templates.password_reset("Léa", url, EXPIRES)
    assert "<script>" not in mail.html
    assert 'href="https://app.suivi.test/s?t=&quot;&gt;&lt;script&gt;' in mail.html
