"""Sending over SMTP with smtplib (green under eventlet: ``nameko run`` patches sockets).

One connection per system email: they are rare, and a fresh connection never trips over
a server that dropped an idle one. Emails to leads go in batches over one connection per
batch (``SmtpConnection``, the dispatcher). A failure raises ``MailDeliveryError``
so the reliable handler retries with backoff, then dead-letters the event. Its
message names the failure (exception class, SMTP reply code) but never the server's
reply text, which may quote the recipient's address; dead letters and logs keep it.
"""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from nameko.extensions import DependencyProvider

from mailer.domain import mime
from suivi_common.settings import is_dev, setting

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 1025
DEFAULT_TIMEOUT_SECONDS = 20.0
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class MailDeliveryError(Exception):
    """The SMTP server did not take the email (yet). ``permanent``: it refused for good
    (a 5xx reply), so trying again would only be refused again."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SmtpSettings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = DEFAULT_TIMEOUT_SECONDS

    def __repr__(self) -> str:  # never print the password
        return (f"SmtpSettings(host={self.host!r}, port={self.port}, user={self.user!r}, "
                f"starttls={self.starttls}, timeout={self.timeout})")

    @classmethod
    def from_config(cls) -> SmtpSettings:
        """Nameko config first, then the environment, then the dev defaults."""
        settings = cls(
            host=str(setting("SMTP_HOST", DEFAULT_HOST) or DEFAULT_HOST),
            port=int(setting("SMTP_PORT", DEFAULT_PORT) or DEFAULT_PORT),
            user=str(setting("SMTP_USER", "") or "") or None,
            password=str(setting("SMTP_PASSWORD", "") or "") or None,
            starttls=_flag(setting("SMTP_STARTTLS", False)),
            timeout=float(setting("SMTP_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS)),
        )
        if settings.user and not settings.starttls and settings.host not in _LOCAL_HOSTS \
                and not is_dev():
            raise RuntimeError("SMTP_USER is set but SMTP_STARTTLS is off: the SMTP "
                               "password would cross the network in clear")
        return settings


def _open(settings: SmtpSettings) -> smtplib.SMTP:
    smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        if settings.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.user:
            smtp.login(settings.user, settings.password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _refusal(settings: SmtpSettings, exc: Exception) -> MailDeliveryError:
    """The ``MailDeliveryError`` of an smtplib failure (no server text: see the module)."""
    where = f"{settings.host}:{settings.port}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _reply in exc.recipients.values()})
        return MailDeliveryError(f"SMTP {where} refused the recipient (codes {codes})",
                                 permanent=bool(codes) and all(c >= 500 for c in codes))
    if isinstance(exc, smtplib.SMTPResponseException):
        return MailDeliveryError(f"SMTP {where} answered {exc.smtp_code} ({type(exc).__name__})",
                                 permanent=exc.smtp_code >= 500)
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
    return MailDeliveryError(f"SMTP {where} unreachable: {detail}")


_FAILURES = (smtplib.SMTPException, OSError)
#: what the adapter sends: the mailer's own messages (``domain.mime``) or the stdlib's
Mail = EmailMessage | mime.Message


def _transmit(smtp: smtplib.SMTP, msg: Mail) -> None:
    """One message over an open conversation. A ``mime.Message`` goes as its bytes
    (``sendmail``: written once, never re-folded by ``send_message``); the envelope is
    ``From`` and ``To``, as ``send_message`` takes them, SMTPUTF8 for a non-ASCII address."""
    if not isinstance(msg, mime.Message):
        smtp.send_message(msg)
        return
    senders, recipients = msg.addresses("From"), msg.addresses("To") + msg.addresses("Cc")
    options = ["SMTPUTF8", "BODY=8BITMIME"] if msg.needs_smtputf8() else []
    smtp.sendmail(senders[0] if senders else "", recipients, msg.as_bytes(), options)


def send(settings: SmtpSettings, msg: Mail) -> None:
    """Hand ``msg`` to the SMTP server; raise ``MailDeliveryError`` unless it is accepted."""
    try:
        with _open(settings) as smtp:
            _transmit(smtp, msg)
    except _FAILURES as exc:
        raise _refusal(settings, exc) from None


class SmtpConnection:
    """Several emails over one SMTP conversation (the dispatcher's batch of emails to
    leads): the connection, STARTTLS and login are paid once, not once per email, and
    five round trips per email become three. Opened at the first ``send``. Each email is
    accepted or refused on its own (``MailDeliveryError``, as ``send``); a refusal leaves
    the conversation usable (smtplib resets it), a lost connection is dropped and the
    next email opens a new one. Only as long as one batch: never an idle connection a
    server may have dropped."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def send(self, msg: Mail) -> None:
        try:
            if self._smtp is None:
                self._smtp = _open(self.settings)
            _transmit(self._smtp, msg)
        except _FAILURES as exc:
            if not isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPSenderRefused
                              | smtplib.SMTPDataError) or getattr(exc, "smtp_code", 0) == 421:
                self._drop()
            raise _refusal(self.settings, exc) from None

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except _FAILURES:
                pass
            finally:
                self._drop()

    def __enter__(self) -> SmtpConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Smtp(DependencyProvider):
    """``self.smtp.send(msg)`` in a worker."""

    def setup(self) -> None:
        self.settings = SmtpSettings.from_config()

    def get_dependency(self, worker_ctx: Any) -> SmtpClient:
        return SmtpClient(self.settings)


class SmtpClient:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, msg: Mail) -> None:
        send(self.settings, msg)

    def connection(self) -> SmtpConnection:
        """One conversation for several emails (``with smtp.connection() as conn``)."""
        return SmtpConnection(self.settings)
