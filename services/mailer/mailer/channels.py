"""How an email to a lead leaves: a ``LeadMailChannel`` per way out, and the one function
that picks them (``channels_for``).

* ``SmtpLeadChannel``: the platform's SMTP server. ``From`` is the platform's address under
  the user's name ("Léa Martin via Suivi"), ``Reply-To`` the user's own address, so the
  lead's answer reaches the user, and no one's domain is spoofed.
* ``GmailLeadChannel``: the user's linked Gmail (``mailer.google``): when this process
  holds a live token for the user it comes first (``channels_for``). A channel that cannot send for this
  user right now (no live token, a token Google refused) raises ``ChannelUnavailable`` and
  the next one is used, so nothing is lost and the SMTP fallback always exists.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from email.headerregistry import Address
from email.utils import parseaddr
from typing import Any, Protocol

from mailer.domain import mime
from mailer.domain.templating import clean

SMTP = "smtp"
GMAIL = "gmail"


class ChannelUnavailable(Exception):
    """This channel cannot send for this user now; try the next one."""


class Deferred(Exception):
    """This channel will take the email later, not now (the user's Gmail quota is used
    up): nothing was sent, it is no refusal and no attempt. The dispatcher gives the
    email a not-before time (``seconds`` from now) instead of holding a worker."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"deferred {seconds:.1f} s")
        self.seconds = seconds


class LeadMailChannel(Protocol):
    name: str

    def send(self, user_id: str, message: Any) -> str:
        """Send ``message`` for ``user_id``; return the channel's name. Raise
        ``ChannelUnavailable`` to hand over to the next channel, or
        ``mailer.adapters.smtp.MailDeliveryError`` (``permanent`` or not) when the email
        was refused."""
        ...


class SmtpLeadChannel:
    name = SMTP

    def __init__(self, smtp: Any, platform_from: str,
                 user_of: Callable[[str], Mapping[str, Any]]) -> None:
        self.smtp = smtp
        self.platform_address = parseaddr(platform_from)[1] or "no-reply@suivi.test"
        self.user_of = user_of

    def send(self, user_id: str, message: Any) -> str:
        user = self.user_of(user_id)
        name = clean(f"{user.get('first_name') or ''} {user.get('last_name') or ''}")
        del message["From"]
        message["From"] = Address(f"{name} via Suivi" if name else "Suivi",
                                  addr_spec=self.platform_address)
        del message["Reply-To"]
        if user.get("email"):
            try:
                message["Reply-To"] = Address(name, addr_spec=str(user["email"]))
            except ValueError:  # a non-ASCII local part: the bare address (sent as SMTPUTF8)
                message["Reply-To"] = str(user["email"])
        self.smtp.send(message)
        return self.name


class GmailLeadChannel:
    """The user's linked Gmail (``mailer.google``): ``From`` is their Google address, paced
    to Gmail's quota. No live token (never linked, restarted, refused by Google): the next
    channel (SMTP with ``Reply-To``) sends it. Gmail unavailable: a transient refusal, so the
    email waits in the queue for its retry; a message Gmail refuses for good fails."""

    name = GMAIL

    def __init__(self, gmail: Any, user_of: Callable[[str], Mapping[str, Any]]) -> None:
        self.gmail = gmail
        self.user_of = user_of

    def send(self, user_id: str, message: Any) -> str:
        from mailer.adapters.smtp import MailDeliveryError
        from mailer.google.errors import MessageRefused, NoLiveToken, Paced

        user = self.user_of(user_id)
        name = clean(f"{user.get('first_name') or ''} {user.get('last_name') or ''}")
        del message["From"]
        if name:  # the display name Gmail keeps in front of the Google address
            message["From"] = Address(name, addr_spec="gmail@invalid.invalid")
        if isinstance(message, mime.Message):  # the Gmail API takes the stdlib's message
            message = message.to_email_message()
        try:
            taken = self.gmail.send(user_id, message, wait=False)
        except Paced as exc:  # not the SMTP fallback: the user's Gmail takes it later
            raise Deferred(exc.seconds) from None
        except NoLiveToken as exc:
            raise ChannelUnavailable(exc.why) from None
        except MessageRefused as exc:
            raise MailDeliveryError(str(exc), permanent=True) from None
        if not taken:
            raise MailDeliveryError("Gmail stayed unavailable")
        return self.name


def gmail_for(service: Any, user_id: str,
              user_of: Callable[[str], Mapping[str, Any]]) -> LeadMailChannel | None:
    """The user's Gmail channel when this process holds a live token for them."""
    gmail = getattr(service, "gmail", None)
    if gmail is None or not gmail.can_send(user_id):
        return None
    return GmailLeadChannel(gmail, user_of)


#: ``(worker service, user_id, user_of) -> LeadMailChannel | None``; tests replace it.
gmail_channel_for: Callable[..., LeadMailChannel | None] | None = gmail_for


def channels_for(service: Any, user_id: str, smtp_channel: LeadMailChannel) -> list[LeadMailChannel]:
    """The channels to try, in order, for this user's email to a lead. The one place that
    chooses: Gmail first when linked (``gmail_channel_for``), the platform SMTP always last."""
    found: list[LeadMailChannel] = []
    if gmail_channel_for is not None:
        gmail = gmail_channel_for(service, user_id, getattr(smtp_channel, "user_of", dict))
        if gmail is not None:
            found.append(gmail)
    found.append(smtp_channel)
    return found


def send(channels: list[LeadMailChannel], user_id: str, message: Any) -> str:
    """Through the first channel that can; the last one's refusal is the email's.
    ``Deferred`` (Gmail's quota) is not a hand-over: it reaches the caller."""
    for channel in channels[:-1]:
        try:
            return channel.send(user_id, message)
        except ChannelUnavailable:
            continue
    return channels[-1].send(user_id, message)
