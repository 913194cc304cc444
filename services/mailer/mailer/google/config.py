"""Where Google is and who we are to it, read once per container from the settings.

``GOOGLE_CLIENT_ID`` / ``GOOGLE_CLIENT_SECRET`` are the OAuth client of the platform;
without a client id, Gmail linking is off (``authorize`` answers 409
``gmail_not_configured``) and every mail goes through SMTP. ``GOOGLE_BASE_URL`` points
every endpoint at one host (the local fake, in dev and tests); unset, the real Google
endpoints are used. Outside dev, every endpoint must be https.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from suivi_common.production import UnsafeConfiguration
from suivi_common.settings import is_dev, setting

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
CALLBACK_PATH = "/api/mailer/google/callback"
DEFAULT_TIMEOUT_SECONDS = 20.0
DEFAULT_SENDS_PER_MINUTE = 150
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Endpoints:
    authorize: str
    token: str
    userinfo: str
    revoke: str
    send: str

    @classmethod
    def at(cls, base: str) -> Endpoints:
        """Every endpoint on one host, under Google's own paths (what the fake serves)."""
        base = base.rstrip("/")
        return cls(f"{base}/o/oauth2/v2/auth", f"{base}/token", f"{base}/v1/userinfo",
                   f"{base}/revoke", f"{base}/gmail/v1/users/me/messages/send")

    def all(self) -> tuple[str, ...]:
        return (self.authorize, self.token, self.userinfo, self.revoke, self.send)

    def on_loopback(self) -> bool:
        return all(urlsplit(url).hostname in LOOPBACK for url in self.all())


GOOGLE = Endpoints("https://accounts.google.com/o/oauth2/v2/auth",
                   "https://oauth2.googleapis.com/token",
                   "https://openidconnect.googleapis.com/v1/userinfo",
                   "https://oauth2.googleapis.com/revoke",
                   "https://gmail.googleapis.com/gmail/v1/users/me/messages/send")


@dataclass(frozen=True)
class GoogleSettings:
    client_id: str
    client_secret: str
    endpoints: Endpoints
    redirect_uri: str
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    sends_per_minute: int = DEFAULT_SENDS_PER_MINUTE

    def __repr__(self) -> str:  # never print the client secret
        return (f"GoogleSettings(client_id={self.client_id!r}, endpoints={self.endpoints!r}, "
                f"redirect_uri={self.redirect_uri!r})")

    @property
    def enabled(self) -> bool:
        return bool(self.client_id)

    @classmethod
    def from_config(cls) -> GoogleSettings:
        base = str(setting("GOOGLE_BASE_URL", "") or "").strip()
        public = str(setting("PUBLIC_URL", DEFAULT_PUBLIC_URL) or DEFAULT_PUBLIC_URL)
        redirect = str(setting("GOOGLE_REDIRECT_URL", "") or "").strip() or (
            public.rstrip("/") + CALLBACK_PATH)
        settings = cls(
            client_id=str(setting("GOOGLE_CLIENT_ID", "") or "").strip(),
            client_secret=str(setting("GOOGLE_CLIENT_SECRET", "") or "").strip(),
            endpoints=Endpoints.at(base) if base else GOOGLE,
            redirect_uri=redirect,
            timeout=float(setting("GOOGLE_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS)),
            sends_per_minute=int(setting("GMAIL_SENDS_PER_MINUTE", DEFAULT_SENDS_PER_MINUTE)),
        )
        if settings.enabled and not is_dev():
            plain = [u for u in settings.endpoints.all() if not u.startswith("https://")]
            if plain:
                raise UnsafeConfiguration("refusing to start in production: Google endpoints "
                                          "must be https (GOOGLE_BASE_URL)")
        if settings.sends_per_minute < 1:
            raise UnsafeConfiguration("GMAIL_SENDS_PER_MINUTE must be at least 1")
        return settings
