"""The system emails' wording: plain text plus a simple HTML alternative.

Pure functions (no config, no clock, no I/O). French first, a short English line
below. Every value that comes from an event is escaped in the HTML part; links must
be absolute http(s) URLs so a payload can never smuggle a ``javascript:`` href.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
SIGNATURE = "L'équipe Suivi"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def clean_name(first_name: str | None) -> str:
    """One line, no control characters, bounded: a name cannot add lines to a mail."""
    name = " ".join("".join(ch if ch.isprintable() else " " for ch in (first_name or "")).split())
    return name[:100]


def check_link(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(
            ch.isspace() or not ch.isprintable() for ch in url):
        raise ValueError("a link in an email must be an absolute http(s) URL")
    return url


def paris_deadline(expires_at: datetime) -> tuple[str, str]:
    """The link's expiry as ``(date, time)`` on the Paris clock, e.g. ``("14/03/2026", "09:30")``."""
    local = expires_at.astimezone(PARIS)
    return local.strftime("%d/%m/%Y"), local.strftime("%H:%M")


def _greeting(name: str) -> str:
    return f"Bonjour {name}," if name else "Bonjour,"


def _layout(title: str, before: list[str], link: tuple[str, str], after: list[str],
            english: str) -> str:
    """The HTML part. Every argument is plain text; it is escaped here, once."""
    def paragraphs(texts: list[str]) -> str:
        return "".join(f"<p>{html.escape(t)}</p>\n" for t in texts)

    url, label = (html.escape(v, quote=True) for v in link)
    return (
        '<!DOCTYPE html>\n<html lang="fr">\n<head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n"
        '<body style="font-family:Arial,Helvetica,sans-serif;font-size:15px;color:#222222">\n'
        f"{paragraphs(before)}"
        f'<p><a href="{url}" style="display:inline-block;padding:10px 18px;background:#1f5fbf;'
        f'color:#ffffff;text-decoration:none;border-radius:4px">{label}</a></p>\n'
        '<p style="font-size:12px;color:#555555">Si le bouton ne fonctionne pas, copiez ce lien '
        f"dans votre navigateur :<br>{url}</p>\n"
        f"{paragraphs(after + [SIGNATURE])}"
        '<hr style="border:none;border-top:1px solid #dddddd">\n'
        f'<p lang="en" style="font-size:12px;color:#555555">{html.escape(english)}</p>\n'
        "</body>\n</html>\n"
    )


def _one_time_link_mail(subject: str, intro: str, label: str, outro: str, english: str,
                        first_name: str | None, set_password_url: str,
                        expires_at: datetime) -> Rendered:
    name = clean_name(first_name)
    url = check_link(set_password_url)
    day, hour = paris_deadline(expires_at)
    validity = (f"Ce lien est personnel et ne fonctionne qu'une seule fois ; il expire le {day} "
                f"à {hour} (heure de Paris). Ne le transmettez à personne.")
    english = english.format(day=day, hour=hour)
    text = (f"{_greeting(name)}\n\n{intro}\n\n{url}\n\n{validity}\n\n{outro}\n\n{SIGNATURE}\n\n"
            f"--\n{english}\n")
    body = _layout(subject, [_greeting(name), intro], (url, label), [validity, outro], english)
    return Rendered(subject, text, body)


def invitation(first_name: str | None, set_password_url: str, expires_at: datetime) -> Rendered:
    """``user_invited``: the platform sends the new user the way to set a password
    (terms art. 1 and 7)."""
    return _one_time_link_mail(
        subject="Votre invitation à rejoindre Suivi",
        intro=("Un compte Suivi vient d'être créé pour vous. Pour l'activer, choisissez votre "
               "mot de passe en ouvrant le lien ci-dessous :"),
        label="Choisir mon mot de passe",
        outro="Si vous n'attendiez pas cette invitation, vous pouvez ignorer ce message.",
        english=("You have been invited to Suivi: open the one-time link above to set your "
                 "password (valid until {day} {hour}, Paris time)."),
        first_name=first_name, set_password_url=set_password_url, expires_at=expires_at)


def password_reset(first_name: str | None, set_password_url: str,
                   expires_at: datetime) -> Rendered:
    """``password_reset_requested``."""
    return _one_time_link_mail(
        subject="Réinitialisation de votre mot de passe Suivi",
        intro=("Nous avons reçu une demande de réinitialisation du mot de passe de votre compte "
               "Suivi. Pour choisir un nouveau mot de passe, ouvrez le lien ci-dessous :"),
        label="Choisir un nouveau mot de passe",
        outro=("Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre "
               "mot de passe actuel reste valable."),
        english=("A password reset was requested for your Suivi account: open the one-time "
                 "link above to choose a new password (valid until {day} {hour}, Paris time). "
                 "If you did not ask for it, ignore this email."),
        first_name=first_name, set_password_url=set_password_url, expires_at=expires_at)


def terms_notice(first_name: str | None, version: str, login_url: str) -> Rendered:
    """``terms_notice``: the terms changed; the user must log in and accept the new version."""
    name = clean_name(first_name)
    version = clean_name(version)
    url = check_link(login_url)
    subject = f"Les conditions d'utilisation de Suivi évoluent (version {version})"
    intro = (f"Les conditions d'utilisation de Suivi ont été mises à jour (version {version}). "
             "Lors de votre prochaine connexion, nous vous demanderons de les lire et de les "
             "accepter pour continuer à utiliser la plateforme.")
    english = (f"Suivi's terms of use have changed (version {version}). Log in to review and "
               "accept them.")
    text = (f"{_greeting(name)}\n\n{intro}\n\nSe connecter : {url}\n\n{SIGNATURE}\n\n"
            f"--\n{english}\n")
    body = _layout(subject, [_greeting(name), intro], (url, "Me connecter"), [], english)
    return Rendered(subject, text, body)
