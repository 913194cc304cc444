"""The system emails' wording: plain text plus a simple HTML alternative.

Pure functions (no config, no clock, no I/O). French first, a short English line
below. Every value that comes from an event is escaped in the HTML part; links must
be absolute http(s) URLs so a payload can never smuggle a ``javascript:`` href.
"""
from __future__ import annotations

import html
import re
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


def email_change(first_name: str | None, confirm_url: str, expires_at: datetime) -> Rendered:
    """``email_change_requested``, to the new address: the change waits for this link."""
    return _one_time_link_mail(
        subject="Confirmez votre nouvelle adresse email Suivi",
        intro=("Vous avez demandé que cette adresse devienne celle de votre compte Suivi. "
               "Pour confirmer le changement, ouvrez le lien ci-dessous :"),
        label="Confirmer cette adresse",
        outro=("Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : rien ne "
               "change sans ce lien."),
        english=("A change of your Suivi account's email to this address was requested: open "
                 "the one-time link above to confirm it (valid until {day} {hour}, Paris time)."),
        first_name=first_name, set_password_url=confirm_url, expires_at=expires_at)


def email_changed(first_name: str | None, login_url: str) -> Rendered:
    """``email_changed``, to the old address: the change is done (a takeover shows here)."""
    name = clean_name(first_name)
    subject = "L'adresse email de votre compte Suivi a changé"
    intro = ("L'adresse email de votre compte Suivi vient d'être changée ; ce message est le "
             "dernier envoyé à cette adresse. Vos autres sessions ont été fermées.")
    outro = ("Si vous n'êtes pas à l'origine de ce changement, contactez au plus vite le "
             "support de Suivi.")
    english = ("The email of your Suivi account was just changed; this is the last message to "
               "this address. If you did not do it, contact us at once.")
    url = check_link(login_url)
    text = (f"{_greeting(name)}\n\n{intro}\n\n{outro}\n\n{url}\n\n{SIGNATURE}\n\n"
            f"--\n{english}\n")
    body = _layout(subject, [_greeting(name), intro], (url, "Ouvrir Suivi"), [outro], english)
    return Rendered(subject, text, body)


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


# --- notices: one fact, told to the user it concerns (issue 11, section 6) ---------------------

def fr_date(value: str) -> str:
    """``2026-03-14`` (or a date-time) as ``14/03/2026``; anything else as it came, cleaned."""
    try:
        return datetime.fromisoformat(value).strftime("%d/%m/%Y")
    except (TypeError, ValueError):
        return clean_name(str(value or ""))


def fr_amount(cents: object) -> str:
    """``123450`` as ``1 234,50 €`` (French grouping, non-breaking spaces)."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        return ""
    euros, rest = divmod(abs(cents), 100)
    grouped = f"{euros:,}".replace(",", "\u202f")
    return f"{'-' if cents < 0 else ''}{grouped},{rest:02d}\u00a0€"


def notice(subject: str, paragraphs: list[str], english: str, first_name: str | None,
           login_url: str, label: str = "Ouvrir Suivi") -> Rendered:
    """A system notice: greeting, the facts in French, a link to the platform, one English line."""
    name = clean_name(first_name)
    url = check_link(login_url)
    body = "\n\n".join(paragraphs)
    text = (f"{_greeting(name)}\n\n{body}\n\n{label} : {url}\n\n{SIGNATURE}\n\n--\n{english}\n")
    html_body = _layout(subject, [_greeting(name), *paragraphs], (url, label), [], english)
    return Rendered(subject, text, html_body)


def lead_erased(first_name: str | None, login_url: str) -> Rendered:
    """``lead_erased``: a lead's data subject had it erased (terms 3.B.iv: no refund)."""
    return notice(
        "Un lead a été effacé à la demande de la personne concernée",
        ["La personne concernée par l'un de vos leads a demandé l'effacement de ses données "
         "(RGPD, art. 17). Ses données personnelles ont été effacées de votre bureau, avec "
         "l'historique de vos échanges avec elle ; le lead reste visible comme fiche vide.",
         "Comme le prévoient les conditions d'utilisation (art. 3.B.iv), cet effacement ne donne "
         "lieu à aucun remboursement. Ne recontactez pas cette personne."],
        "One of your leads was erased at the data subject's request (GDPR art. 17): its data and "
        "your email history with it are gone. As the terms provide (art. 3.B.iv), no refund is due.",
        first_name, login_url)


def refund_claim_decided(first_name: str | None, approved: bool, cause: str,
                         login_url: str) -> Rendered:
    if approved:
        return notice(
            "Votre demande de remboursement est acceptée",
            ["Votre demande de remboursement d'un lead a été acceptée : un lead a été recrédité "
             "sur votre plan."],
            "Your refund claim was approved: one lead was credited back to your plan.",
            first_name, login_url)
    why = ("Le lead a été effacé à la demande de la personne concernée, ce qui clôt la demande "
           "sans remboursement (conditions d'utilisation, art. 3.B.iv)." if cause == "lead_erased"
           else "Le détail de la décision est visible dans votre bureau.")
    return notice(
        "Votre demande de remboursement est refusée",
        ["Votre demande de remboursement d'un lead a été refusée.", why],
        "Your refund claim was rejected; see the decision in your office.", first_name, login_url)


def absence_decided(first_name: str | None, kind: str, approved: bool, start: str, end: str,
                    records_restored: int, comment: str, login_url: str) -> Rendered:
    period = f"du {fr_date(start)} au {fr_date(end)}"
    staff_note = [f"Commentaire de l'équipe Suivi : {clean_name(comment)}"] if comment else []
    if kind == "force_majeure":
        if approved:
            restored = (f" {records_restored} lead(s) ont été recrédités sur votre plan."
                        if records_restored else "")
            return notice(
                "Votre déclaration de force majeure est acceptée",
                [f"Votre déclaration de force majeure ({period}) est acceptée : vos livraisons "
                 f"sont suspendues sur cette période et votre plan est prolongé d'autant.{restored}",
                 *staff_note],
                f"Your force-majeure claim ({start} to {end}) was approved: deliveries are paused "
                "and your plan extended accordingly.", first_name, login_url)
        return notice(
            "Votre déclaration de force majeure est refusée",
            [f"Votre déclaration de force majeure ({period}) est refusée : vos livraisons "
             "continuent normalement.", *staff_note],
            f"Your force-majeure claim ({start} to {end}) was rejected.", first_name, login_url)
    return notice(
        "Votre absence est enregistrée",
        [f"Votre absence {period} est enregistrée : vos livraisons sont suspendues sur cette "
         "période et votre plan est prolongé d'autant."],
        f"Your absence ({start} to {end}) is recorded: deliveries are paused and your plan "
        "extended accordingly.", first_name, login_url)


ORDER_LABELS = {"subscription": "votre abonnement", "plan": "votre plan"}


def payment_validated(first_name: str | None, amount_cents: object, order_type: str,
                      login_url: str) -> Rendered:
    amount = fr_amount(amount_cents)
    what = ORDER_LABELS.get(order_type, "votre commande")
    return notice(
        "Votre paiement est validé",
        [f"Votre paiement{' de ' + amount if amount else ''} pour {what} est validé. Merci !"],
        f"Your payment{' of ' + amount if amount else ''} is confirmed. Thank you!",
        first_name, login_url)


def password_changed(first_name: str | None, how: str, login_url: str) -> Rendered:
    """``password_changed``: the password of the account changed (a takeover shows here).
    Nothing secret: no password, no link but the platform's address."""
    way = ("à l'aide d'un lien de réinitialisation" if how == "reset"
           else "depuis une session ouverte sur votre compte")
    return notice(
        "Le mot de passe de votre compte Suivi a changé",
        [f"Le mot de passe de votre compte Suivi vient d'être changé, {way}. Vos autres "
         "sessions ont été fermées.",
         "Si vous êtes à l'origine de ce changement, vous n'avez rien à faire. Sinon, "
         "demandez aussitôt un nouveau mot de passe depuis la page de connexion et "
         "contactez le support de Suivi."],
        "The password of your Suivi account was just changed. If you did not do it, reset it "
        "from the login page at once and contact us.", first_name, login_url)


def second_factor_reset(first_name: str | None, login_url: str) -> Rendered:
    """``second_factor_reset``: staff removed the account's second factor (on a request
    of its holder, who lost it): the holder learns it, and enrols again."""
    return notice(
        "La double authentification de votre compte Suivi a été réinitialisée",
        ["À votre demande, l'équipe Suivi a retiré la double authentification (application "
         "d'authentification et codes de secours) de votre compte. Toutes vos sessions ont "
         "été fermées.",
         "À votre prochaine connexion, ajoutez-la de nouveau depuis votre espace (elle est "
         "obligatoire pour les comptes de l'équipe et de conformité). Si vous n'avez rien "
         "demandé, contactez au plus vite le support de Suivi."],
        "Suivi staff removed the second factor of your account, as asked; all your sessions "
        "ended. Enrol a new one at your next login. If you asked for nothing, contact us at "
        "once.", first_name, login_url)


def payment_failed(first_name: str | None, order_type: str, login_url: str) -> Rendered:
    what = ORDER_LABELS.get(order_type, "votre commande")
    return notice(
        "Votre paiement n'a pas abouti",
        [f"Le paiement pour {what} n'a pas abouti : rien n'a été débité, et la commande n'est "
         "pas active. Vous pouvez la commander à nouveau depuis votre espace."],
        "Your payment did not go through: nothing was charged and the order is not active. "
        "You may order again from your account.", first_name, login_url)


def subscription_ending(first_name: str | None, ends_on: str, plans_running: bool,
                        login_url: str) -> Rendered:
    paragraphs = [f"Votre abonnement au bureau Suivi se termine le {fr_date(ends_on)}. "
                  "Pensez à le renouveler pour garder l'accès à vos leads."]
    english = f"Your Suivi office subscription ends on {ends_on}."
    if plans_running:
        paragraphs.append(
            "Attention : vous avez des plans en cours. Sans bureau actif, vous ne pourrez plus "
            "recevoir ni consulter vos leads (conditions d'utilisation, art. 10).")
        english += " You still have running plans: without an office you cannot take leads."
    return notice("Votre abonnement se termine dans 7 jours", paragraphs, english, first_name,
                  login_url, label="Renouveler mon abonnement")


def plan_extended(first_name: str | None, end_date: str, login_url: str) -> Rendered:
    return notice(
        "Votre plan est prolongé",
        ["Une fermeture des ventes décidée par la plateforme a suspendu des livraisons : votre "
         f"plan est prolongé d'autant et se termine désormais le {fr_date(end_date)}."],
        f"A sales closure paused deliveries: your plan is extended and now ends on {end_date}.",
        first_name, login_url)



def stale_leads_reminder(first_name: str | None, count: int, months: int, inactive_since: str,
                         office_url: str) -> Rendered:
    """The monthly stale-lead reminder (issue 12 §2, terms 3.B.iv): how many leads had no
    activity for ``months`` months, and a link to the office filtered on them."""
    leads = "1 lead" if count == 1 else f"{count} leads"
    return notice(
        f"{leads} sans activité depuis {months} mois dans votre bureau",
        [f"Votre bureau compte {leads} sans aucune activité (modification, note, changement de "
         f"statut ou e-mail) depuis le {fr_date(inactive_since)}, soit {months} mois.",
         "Les conditions d'utilisation (art. 3.B.iv) vous demandent de supprimer les leads "
         "qui n'ont pas donné suite : le lien ci-dessous les affiche, et vous pouvez les "
         "supprimer en une seule fois depuis cette vue.",
         "Ce rappel est envoyé une fois par mois."],
        f"You have {count} lead(s) with no activity for {months} months (since "
        f"{inactive_since}). The terms (art. 3.B.iv) ask you to delete leads that never "
        "followed up: the link shows them, and you can delete them in one step.",
        first_name, office_url, label="Voir ces leads")


# --- compliance's notices to controllers (a breach, a sub-processor change) ------------------

MAX_NOTICE_SUBJECT = 300
_URL = re.compile(r"https?://[^\s<>\"']+")


def one_line(value: str, limit: int) -> str:
    """A header-safe line: no control characters (a subject cannot add headers), bounded."""
    line = " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())
    return line[:limit]


def _linked(escaped: str) -> str:
    """Make the http(s) addresses of already-escaped text clickable."""
    return _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)


def compliance_notice(subject: str, text: str) -> Rendered:
    """A notice compliance wrote in full (``subject``, ``text``: French, ready to send): the
    text as it came, and an HTML part of the same paragraphs, escaped, links clickable."""
    title = one_line(subject, MAX_NOTICE_SUBJECT)
    body = text.replace("\r\n", "\n").strip("\n")
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    html_body = "".join(
        "<p>" + "<br>\n".join(_linked(html.escape(line)) for line in p.split("\n")) + "</p>\n"
        for p in paragraphs)
    page = ('<!DOCTYPE html>\n<html lang="fr">\n<head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title></head>\n"
            '<body style="font-family:Arial,Helvetica,sans-serif;font-size:15px;color:#222222">\n'
            f"{html_body}</body>\n</html>\n")
    return Rendered(title, body + "\n", page)
