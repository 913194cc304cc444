"""Dead-letter listings redact email addresses and links; the sealed payload (what a replay
sends) stays whole. Real PostgreSQL and a running container for the Database provider."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import MetaData
from sqlalchemy.orm import Session

from suivi_common.consumer import reliable_handler
from suivi_common.database import Database
from suivi_common.redaction import EMAIL, LINK, SECRET, redact, redact_text
from suivi_common.service_base import PlatformService
from suivi_common.tables import define_common_tables
from suivi_common.testing import infra

metadata = MetaData()
common = define_common_tables(metadata)
URL = infra.test_db_url("common_dead_letters")

INVITATION = {
    "user_id": "5b0c9f3e-0000-4000-8000-000000000001",
    "email": "alice.martin@example.org",
    "first_name": "Alice",
    "set_password_url": "https://suivi.example/set-password?token=Zx9-one-time-secret",
    "network": {"name": "Réseau Nord", "admin_email": "boss@reseau-nord.fr"},
    "lines": ["write to bruno@example.com", "or open www.suivi.example/help"],
    "token": "Zx9-one-time-secret",
}


def test_emails_links_and_tokens_are_replaced_everywhere() -> None:
    shown = redact(INVITATION)
    text = repr(shown)
    for secret in ("alice.martin@", "boss@", "bruno@", "Zx9-one-time-secret", "https://",
                   "www.suivi"):
        assert secret not in text
    assert shown["email"] == EMAIL and shown["set_password_url"] == LINK
    assert shown["token"] == SECRET
    assert shown["network"] == {"name": "Réseau Nord", "admin_email": EMAIL}
    assert shown["lines"] == [f"write to {EMAIL}", f"or open {LINK}"]
    assert shown["user_id"] == INVITATION["user_id"] and shown["first_name"] == "Alice"
    assert redact([1, None, True, {"count": 2}]) == [1, None, True, {"count": 2}]


def test_error_texts_lose_them_too() -> None:
    error = ('psycopg.errors.UniqueViolation: Key (email)=(alice@example.org) exists\n'
             'while sending https://suivi.example/set-password?token=abc')
    assert redact_text(error) == (f"psycopg.errors.UniqueViolation: Key (email)=({EMAIL}) "
                                  f"exists\nwhile sending {LINK}")


class Letters(PlatformService):
    name = "letters"
    db = Database(common, url_key="LETTERS_DATABASE_URL")

    @reliable_handler("nobody", "invited")
    def on_invited(self, payload: dict[str, Any]) -> None:
        pass


@pytest.fixture
def provider(vhost: str) -> Iterator[Database]:
    infra.truncate_all(infra.schema_database(URL, metadata), metadata)
    cfg = infra.base_config(vhost, LETTERS_DATABASE_URL=URL)
    with infra.running(cfg, Letters) as containers:
        yield next(d for d in containers[0].dependencies if isinstance(d, Database))


def test_the_listing_is_redacted_and_the_sealed_payload_is_whole(provider: Database) -> None:
    provider.store_dead_letter("letters.nobody.invited", "on_invited", "m-1", INVITATION, {},
                               "RuntimeError: could not mail alice.martin@example.org", 5)
    [letter] = provider.list_dead_letters()
    assert letter["payload"] == redact(INVITATION)
    assert letter["error"] == f"RuntimeError: could not mail {EMAIL}"
    with Session(provider.engine) as session, session.begin():
        row = provider.take_dead_letter(session, letter["id"])
        payload, error = provider.open_dead_letter(session, row)
    assert payload == INVITATION  # what a replay puts back on the queue
    assert "alice.martin@example.org" in error


def test_a_letter_id_that_is_no_uuid_names_no_letter(provider: Database) -> None:
    with Session(provider.engine) as session, session.begin():
        assert provider.take_dead_letter(session, "not-a-uuid\x00") is None
