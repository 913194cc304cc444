"""What can go wrong with Google, as exceptions whose messages never carry a token, a
code or Google's own text (which may quote them): they end up in logs and dead letters."""
from __future__ import annotations


class NoLiveToken(Exception):
    """This mailer process holds no usable token for the user (never linked, restarted
    since, unlinked, or Google refused the token): send through SMTP with ``Reply-To``
    and ask the user to link again (``relink_gmail``)."""

    def __init__(self, user_id: str, why: str = "no live token") -> None:
        super().__init__(f"no live Gmail token for user {user_id}: {why}")
        self.user_id = user_id
        self.why = why


class GoogleRefused(Exception):
    """Google refused a step of the link (bad code, wrong scopes, unverified address...).
    ``code`` is ours (``invalid_grant``, ``scope_refused``...), safe to show."""

    def __init__(self, code: str, message: str = "Google refused the request") -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.message = message


class GoogleUnavailable(Exception):
    """Google did not answer usefully (network, 5xx): try again later."""


class MessageRefused(Exception):
    """Gmail refused this message itself (400): sending it again would fail the same way."""


class Paced(Exception):
    """The user's Gmail quota has no slot free now (``pacing``): nothing was sent. The
    caller defers the email by ``seconds`` instead of waiting in a worker."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"Gmail quota: next slot in {seconds:.1f} s")
        self.seconds = seconds
