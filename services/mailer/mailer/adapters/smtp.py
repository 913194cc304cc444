"""Sending over SMTP with smtplib (green under eventlet: ``nameko run`` patches sockets).

One connection per email: system emails are rare, and a fresh connection never
trips over a server that dropped an idle one. A failure raises ``MailDeliveryError``
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


def send(settings: SmtpSettings, msg: EmailMessage) -> None:
    """Hand ``msg`` to the SMTP server; raise ``MailDeliveryError`` unless it is accepted."""
    where = f"{settings.host}:{settings.port}"
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.user:
                smtp.login(settings.user, settings.password or "")
            smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = sorted({code for code, _reply in exc.recipients.values()})
        raise MailDeliveryError(f"SMTP {where} refused the recipient (codes {codes})",
                                permanent=bool(codes) and all(c >= 500 for c in codes)) from None
    except smtplib.SMTPResponseException as exc:
        raise MailDeliveryError(
            f"SMTP {where} answered {exc.smtp_code} ({type(exc).__name__})",
            permanent=exc.smtp_code >= 500) from None
    except (smtplib.SMTPException, OSError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise MailDeliveryError(f"SMTP {where} unreachable: {detail}") from None


class Smtp(DependencyProvider):
    """``self.smtp.send(msg)`` in a worker."""

    def setup(self) -> None:
        self.settings = SmtpSettings.from_config()

    def get_dependency(self, worker_ctx: Any) -> SmtpClient:
        return SmtpClient(self.settings)


class SmtpClient:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, msg: EmailMessage) -> None:
        send(self.settings, msg)
