"""SMTP settings: config keys, defaults, and no password over a plain connection."""
from __future__ import annotations

import pytest
from nameko import config

from mailer.adapters.smtp import SmtpSettings


def test_defaults_are_the_local_sink(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASSWORD", "SMTP_STARTTLS"):
        monkeypatch.delenv(key, raising=False)
    with config.patch({}, clear=True):
        settings = SmtpSettings.from_config()
    assert (settings.host, settings.port, settings.user, settings.starttls) == (
        "127.0.0.1", 1025, None, False)


def test_values_from_config_and_the_password_is_never_printed() -> None:
    with config.patch({"SMTP_HOST": "smtp.example.test", "SMTP_PORT": "587",
                       "SMTP_USER": "mailer", "SMTP_PASSWORD": "hunter2",
                       "SMTP_STARTTLS": "true", "SUIVI_ENV": "prod"}, clear=True):
        settings = SmtpSettings.from_config()
    assert (settings.host, settings.port, settings.user, settings.starttls) == (
        "smtp.example.test", 587, "mailer", True)
    assert "hunter2" not in repr(settings)


def test_credentials_without_starttls_are_refused_outside_dev() -> None:
    with config.patch({"SMTP_HOST": "smtp.example.test", "SMTP_USER": "mailer",
                       "SMTP_PASSWORD": "x", "SMTP_STARTTLS": False, "SUIVI_ENV": "prod"},
                      clear=True), pytest.raises(RuntimeError, match="STARTTLS"):
        SmtpSettings.from_config()
