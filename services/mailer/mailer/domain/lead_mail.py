"""The RFC 5322 message of an email to a lead (written by ``domain.mime``).

Every email to a lead carries the recipient's personal unsubscribe link (GDPR art. 21):
in the body (a footer, unless the template already shows the link) and in the RFC 8058
headers, ``List-Unsubscribe: <https://...>`` and ``List-Unsubscribe-Post:
List-Unsubscribe=One-Click``, so mail clients offer a one-click unsubscribe that POSTs
to the link. ``From`` and ``Reply-To`` are the channel's business (``channels``): the
platform's address with the user's as ``Reply-To`` over SMTP, the user's own over Gmail.
Pure: no I/O, time is an argument.
"""
from __future__ import annotations

import html as html_lib
from datetime import UTC, datetime
from email.utils import format_datetime

from mailer.domain import mime
from mailer.domain.templating import Rendered

FOOTER_TEXT = ("\n\n--\nVous ne souhaitez plus recevoir d'e-mails de ma part ? "
               "Désinscrivez-vous : {url}\nTo stop receiving these emails: {url}\n")
FOOTER_HTML = ('<hr style="border:none;border-top:1px solid #dddddd">\n'
               '<p style="font-size:12px;color:#555555">Vous ne souhaitez plus recevoir '
               "d'e-mails de ma part ? <a href=\"{url}\">Se désinscrire</a><br>"
               '<span lang="en">To stop receiving these emails: '
               '<a href="{url}">unsubscribe</a></span></p>\n')


def message_id(email_id: str, domain: str) -> str:
    """The same ``Message-ID`` for every attempt at one email: a resend after a crash is
    recognisably the same mail."""
    return f"<{email_id}.lead@{domain}>"


def with_footer(rendered: Rendered, unsubscribe_url: str) -> Rendered:
    """The bodies, each with the unsubscribe footer unless it already shows the link."""
    text = rendered.text
    if unsubscribe_url not in text:
        text = text.rstrip("\n") + FOOTER_TEXT.format(url=unsubscribe_url)
    body_html = rendered.html
    if body_html is not None:
        escaped = html_lib.escape(unsubscribe_url, quote=True)
        if escaped not in body_html and unsubscribe_url not in body_html:
            footer = FOOTER_HTML.format(url=escaped)
            lower = body_html.lower()
            at = lower.rfind("</body>")
            body_html = body_html[:at] + footer + body_html[at:] if at >= 0 else body_html + footer
    return Rendered(rendered.subject, text, body_html)


def build(rendered: Rendered, *, to: str, msg_id: str, now: datetime, unsubscribe_url: str,
          locale: str = "fr", automatic: bool = False) -> mime.Message:
    """The message, without ``From``/``Reply-To`` (the channel sets them)."""
    body = with_footer(rendered, unsubscribe_url)
    msg = mime.Message(body.text, body.html, language=locale)
    msg["Subject"] = rendered.subject
    msg["To"] = to
    msg["Date"] = format_datetime(now.astimezone(UTC))
    msg["Message-ID"] = msg_id
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if automatic:  # RFC 3834: sent by an automation, not typed by the user just now
        msg["Auto-Submitted"] = "auto-generated"
    msg["X-Suivi-Mail-Kind"] = "lead-automation" if automatic else "lead"
    return msg
