"""Linking Gmail over HTTP as a user would, against the fake Google the platform starts:
authorize (a binding cookie on the session), consent at Google, the callback completes the
link and lands on the web client's page; a replayed or forwarded callback is refused;
unlinking revokes at Google; and no token is left in any table or log of the platform."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import requests
from psycopg import sql

from suivi_common.testing.infra import PG_BASE
from tools.api_client import Api
from tools.platform import SERVICES, Platform

PG_URL = PG_BASE.replace("postgresql+psycopg://", "postgresql://", 1) + "/"


def browser(api: Api | None = None) -> requests.Session:
    """The user's browser: the API client's own cookie jar (or a stranger's, empty)."""
    if api is not None:
        return api.http
    session = requests.Session()
    session.trust_env = False
    return session


def follow(session: requests.Session, url: str) -> requests.Response:
    """One hop, as a browser would take it (no bearer token on navigations)."""
    return session.get(url, allow_redirects=False, timeout=60)


def consent(session: requests.Session, url: str, email: str) -> str:
    """At the fake Google: consent as ``email``; the redirect back to the platform."""
    resp = follow(session, f"{url}&login_hint={email}")
    assert resp.status_code == 302, resp.text
    return str(resp.headers["Location"])


def outcome(resp: requests.Response) -> dict[str, str]:
    assert resp.status_code == 303, resp.text
    where = urlsplit(resp.headers["Location"])
    assert where.path == "/settings/gmail"
    return {k: v[0] for k, v in parse_qs(where.query).items()}


def fake_google(platform: Platform, path: str) -> Any:
    return browser().get(f"http://127.0.0.1:{platform.google_port}{path}", timeout=30).json()


def tokens_found(platform: Platform, tokens: list[str]) -> list[str]:
    """Every token found in any row of any table of the platform's databases (rows read
    whole as text, bytea as hex) or in its log files."""
    needles = [t for t in tokens] + [t.encode().hex() for t in tokens]
    found = []
    for service in SERVICES:
        dbname = f"{service}{platform.db_suffix}"
        with psycopg.connect(PG_URL + dbname, autocommit=True) as conn:
            tables = conn.execute("SELECT table_schema, table_name FROM information_schema.tables"
                                  " WHERE table_type = 'BASE TABLE' AND table_schema NOT IN "
                                  "('pg_catalog', 'information_schema')").fetchall()
            for schema, table in tables:
                query = sql.SQL("SELECT t::text FROM {}.{} AS t").format(
                    sql.Identifier(schema), sql.Identifier(table))
                for (row,) in conn.execute(query):
                    found += [f"{dbname}.{table}" for n in needles if n in row]
    for path in (platform.var_dir / "log").glob("*.log*"):
        text = path.read_text(errors="replace")
        found += [path.name for t in tokens if t in text]
    return found


def test_link_gmail_over_http(platform: Platform, make_network: Any, invite_member: Any,
                              unique: str) -> None:
    _, admin = make_network()
    _, user = invite_member(admin)
    status = user.get("/api/mailer/google")
    assert status == {"linked": False, "address": None, "linked_at": None, "can_send": False,
                      "reason": "relink_gmail"}

    # authorize: the Google URL, and a binding cookie on this session only
    status_code, body = user.call("GET", "/api/mailer/google/authorize", expect=200)
    set_cookie = user.http.cookies.get("suivi_gmail_link")
    assert set_cookie and set_cookie not in body["url"]
    assert urlsplit(body["url"]).netloc == f"127.0.0.1:{platform.google_port}"
    address = f"member.{unique}@gmail.test"
    back = consent(browser(user), body["url"], address)
    assert back.startswith(f"{platform.url}/api/mailer/google/callback?")
    assert outcome(follow(browser(user), back)) == {"gmail": "linked"}
    assert "suivi_gmail_link" not in user.http.cookies  # the binding is gone with it

    status = user.get("/api/mailer/google")
    assert status["linked"] is True and status["address"] == address
    assert status["can_send"] is True and status["linked_at"]
    assert admin.get("/api/mailer/google")["linked"] is False  # someone else's

    # the same callback again: the state was used
    assert outcome(follow(browser(user), back)) == {"gmail": "error", "reason": "state_invalid"}

    # a Google URL forwarded to someone else's browser cannot link their Gmail to this user
    _, second = user.call("GET", "/api/mailer/google/authorize", expect=200)
    stranger = browser()
    forwarded = consent(stranger, second["url"], f"stranger.{unique}@gmail.test")
    assert outcome(follow(stranger, forwarded)) == {"gmail": "error",
                                                    "reason": "state_not_bound"}
    assert user.get("/api/mailer/google")["address"] == address

    # declining at Google comes back as an error page, nothing changes
    denied = follow(browser(user), f"{platform.url}/api/mailer/google/callback"
                                   "?error=access_denied&state=x")
    assert outcome(denied) == {"gmail": "error", "reason": "access_denied"}

    # nobody else's session, and no anonymous caller, reaches the link
    assert Api(platform.url).call("GET", "/api/mailer/google")[0] == 401
    assert Api(platform.url).call("DELETE", "/api/mailer/google")[0] == 401

    grants = fake_google(platform, "/_fake/grants")
    mine = [g for g in grants if g["email"] == address]
    tokens = [t for g in grants for t in (g["refresh_token"], *g["access_tokens"])]
    assert len(mine) == 1 and tokens
    assert tokens_found(platform, tokens) == []

    unlinked = user.call("DELETE", "/api/mailer/google", expect=200)[1]
    assert unlinked["linked"] is False and unlinked["revoked"] is True
    assert [g["revoked"] for g in fake_google(platform, "/_fake/grants")
            if g["email"] == address] == [True]
    assert user.get("/api/mailer/google")["linked"] is False
    assert tokens_found(platform, tokens) == []
