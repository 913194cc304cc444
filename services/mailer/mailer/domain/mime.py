"""A small MIME writer: the mailer's messages as RFC 5322 bytes, without ``email.message``.

Why: building an ``EmailMessage`` parses every header through the header registry, and
``smtplib.send_message`` folds every header again when it serialises it. That was a fifth
of the mailer's CPU per email (BENCHMARKS.md, issue 11 section 7). The mailer's messages
have one shape only, so they are written directly:

* headers in order; a non-ASCII unstructured value (``Subject``) as RFC 2047 encoded-words
  (UTF-8, base64), folded to lines under 78 characters; an ASCII value folded at spaces;
  a CR or LF in a value is refused (``ValueError``, as the ``email`` package does: no
  header injection);
* address headers (``From``, ``To``, ``Reply-To``) from ``(display name, address)``: a
  non-ASCII name as an encoded-word, an ASCII one quoted when it holds specials; a
  non-ASCII address is written as is (RFC 6532), and the message then needs SMTPUTF8
  (``needs_smtputf8``);
* the body: UTF-8 ``text/plain``, with a ``text/html`` alternative when there is one
  (``multipart/alternative``), quoted-printable (7-bit lines whatever the server).

``to_email_message`` parses the bytes back with the standard parser, for the Gmail API
(which wants an ``EmailMessage``) and for tests. ``tests/unit/test_mime.py`` round-trips
the bytes through the standard parser and compares.
"""
from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

ADDRESS_HEADERS = frozenset({"from", "to", "reply-to", "cc", "sender"})
#: raw UTF-8 bytes per encoded-word: ``=?utf-8?b?`` + 48 base64 characters + ``?=`` = 60
_WORD_BYTES = 36
_MAX_LINE = 78
_SPECIALS = set('()<>[]:;@\\,."')


def _check(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("Header values may not contain linefeed or carriage return "
                         "characters")
    return value


def encoded_words(value: str) -> list[str]:
    """``value`` as RFC 2047 base64 encoded-words, each at most ``_WORD_BYTES`` of UTF-8,
    never splitting a character."""
    words: list[str] = []
    chunk: list[str] = []
    size = 0
    for char in value:
        n = len(char.encode("utf-8"))
        if size + n > _WORD_BYTES and chunk:
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(char)
        size += n
    if chunk:
        words.append("".join(chunk))
    return ["=?utf-8?b?" + base64.b64encode(w.encode("utf-8")).decode("ascii") + "?="
            for w in words]


def _fold_ascii(name: str, value: str) -> str:
    """``Name: value``, folded at spaces so lines stay under 78 characters when they can."""
    line = f"{name}: {value}"
    if len(line) <= _MAX_LINE or " " not in value:
        return line
    first, *rest = value.split(" ")
    out, current = [], f"{name}: {first}"
    for word in rest:
        if len(current) + 1 + len(word) > _MAX_LINE:
            out.append(current)
            current = ""
        current += " " + word
    out.append(current)
    return "\r\n".join(out)


def unstructured(name: str, value: str) -> str:
    """One header line (folded), ``value`` as is when ASCII, else as encoded-words."""
    _check(value)
    if value.isascii():
        return _fold_ascii(name, value)
    return f"{name}: " + "\r\n ".join(encoded_words(value))


def _phrase(name: str) -> str:
    if not name.isascii():
        return " ".join(encoded_words(name))
    if any(c in _SPECIALS for c in name):
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return name


def mailbox(name: str, address: str) -> str:
    """``Name <address>`` (or the bare address), ready for a header."""
    _check(name)
    _check(address)
    return f"{_phrase(name)} <{address}>" if name else address


def as_pair(value: Any) -> tuple[str, str]:
    """``(display name, address)`` of an ``Address`` or of a ``Name <address>`` string."""
    if isinstance(value, Address):
        return value.display_name, value.addr_spec
    return parseaddr(_check(str(value)))


class Message:
    """A text (and HTML) email, headers kept in order; ``msg["X"]`` reads the first value
    (None if absent), ``msg["X"] = v`` adds one, ``del msg["X"]`` removes them all, as
    ``EmailMessage`` does for the headers the mailer uses."""

    def __init__(self, text: str, html: str | None = None, language: str | None = None) -> None:
        self.text = text
        self.html = html
        self.language = language
        #: (name, value, its (display name, address) for an address header): an address
        #: is parsed once, when set, not again for the envelope, SMTPUTF8 and the bytes
        self._headers: list[tuple[str, Any, tuple[str, str] | None]] = []

    def __setitem__(self, name: str, value: Any) -> None:
        if not isinstance(value, Address):
            _check(str(value))
        pair = as_pair(value) if name.lower() in ADDRESS_HEADERS else None
        self._headers.append((name, value, pair))

    def __getitem__(self, name: str) -> str | None:
        key = name.lower()
        for have, value, _pair in self._headers:
            if have.lower() == key:
                return str(value)
        return None

    def __delitem__(self, name: str) -> None:
        key = name.lower()
        self._headers = [h for h in self._headers if h[0].lower() != key]

    def get(self, name: str, default: Any = None) -> Any:
        found = self[name]
        return default if found is None else found

    def items(self) -> Iterator[tuple[str, str]]:
        return ((h, str(v)) for h, v, _pair in self._headers)

    def addresses(self, name: str) -> list[str]:
        """The addresses of every ``name`` header (the envelope's sender or recipients)."""
        key = name.lower()
        return [pair[1] for h, _v, pair in self._headers if h.lower() == key and pair]

    def needs_smtputf8(self) -> bool:
        """A non-ASCII address anywhere: only a server that says SMTPUTF8 may take it."""
        return any(not pair[1].isascii() for _h, _v, pair in self._headers if pair)

    def _header_lines(self) -> list[str]:
        lines = []
        for name, value, pair in self._headers:
            if pair is not None:
                lines.append(f"{name}: {mailbox(*pair)}")
            else:
                lines.append(unstructured(name, str(value)))
        return lines

    def as_bytes(self) -> bytes:
        """The RFC 5322 message, CRLF line ends (as SMTP's DATA wants it)."""
        lines = self._header_lines()
        lines.append("MIME-Version: 1.0")
        if self.language:
            lines.append(unstructured("Content-Language", self.language))
        text_part = _part("plain", self.text)
        if self.html is None:
            head = "\r\n".join(lines).encode("utf-8")
            return head + b"\r\n" + text_part
        boundary = "===============" + uuid.uuid4().hex + "=="
        lines.append(f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"')
        head = "\r\n".join(lines).encode("utf-8")
        mark = f"--{boundary}\r\n".encode("ascii")
        return (head + b"\r\n\r\n" + mark + text_part + b"\r\n" + mark
                + _part("html", self.html) + b"\r\n" + f"--{boundary}--\r\n".encode("ascii"))

    def __bytes__(self) -> bytes:
        return self.as_bytes()

    def to_email_message(self) -> EmailMessage:
        """The same message as the standard library's (the Gmail API's input)."""
        parsed = message_from_bytes(self.as_bytes(), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def get_body(self, preferencelist: tuple[str, ...] = ("related", "html", "plain")) -> Any:
        """As ``EmailMessage.get_body``, on the parsed message (tests read bodies so)."""
        return self.to_email_message().get_body(preferencelist)


def _part(subtype: str, body: str) -> bytes:
    """A ``text/<subtype>`` part: its headers, a blank line, the body quoted-printable."""
    data = body.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    encoded = binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)
    encoded = encoded.replace(b"\n", b"\r\n")
    if not encoded.endswith(b"\r\n"):
        encoded += b"\r\n"
    return (f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n").encode("ascii") + encoded
