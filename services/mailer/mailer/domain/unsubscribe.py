"""Personal unsubscribe links (GDPR art. 21, RFC 8058).

The link names *who may not mail whom*: the owner (a user id) and the blind index of the
recipient's address for that owner, plus a MAC. Nothing else is needed to record the
objection, so the link keeps working after the lead is erased (its emails with it), and it
reveals nothing: the index is an HMAC under the network's key, the MAC is under a key derived
from the master key (``KeyRing.subkey``). A forged or altered token is simply unknown.

Token: ``u1`` + base64url(owner uuid (16 bytes) | index (32) | mac (16)).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass

PREFIX = "u1"
PURPOSE = "mailer-unsubscribe-link"
INDEX_KIND = "email-opposition"
_MAC_BYTES = 16
_INDEX_BYTES = 32


def normalise_address(address: str) -> str:
    return address.strip().lower()


def index_value(owner_id: str, address: str) -> str:
    """What is blind-indexed: the address *for this owner* (an objection is per owner)."""
    return f"{owner_id}:{normalise_address(address)}"


@dataclass(frozen=True)
class Objection:
    owner_id: str
    address_bidx: bytes


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, PREFIX.encode() + body, hashlib.sha256).digest()[:_MAC_BYTES]


def make_token(key: bytes, owner_id: str, address_bidx: bytes) -> str:
    if len(address_bidx) != _INDEX_BYTES:
        raise ValueError("the address index must be 32 bytes")
    body = uuid.UUID(owner_id).bytes + address_bidx
    raw = body + _mac(key, body)
    return PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_token(key: bytes, token: str) -> Objection | None:
    """The objection a genuine token names, or None."""
    if not isinstance(token, str) or not token.startswith(PREFIX) or len(token) > 200:
        return None
    data = token[len(PREFIX):]
    try:
        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) != 16 + _INDEX_BYTES + _MAC_BYTES:
        return None
    body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(key, body)):
        return None
    return Objection(str(uuid.UUID(bytes=body[:16])), body[16:])


def url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/unsubscribe/{token}"
