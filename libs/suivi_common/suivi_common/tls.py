"""TLS to the broker: the ``ssl`` options kombu / py-amqp take for an ``amqps://`` AMQP_URI.

Why one module: nameko reads ``AMQP_SSL`` from its config for every connection it opens, and
our own publishers (outbox relay, reliable handlers, ``RpcClient``) must pass the same options,
or one connection would silently skip the checks. For ``amqps://`` the broker's chain is
verified against ``AMQP_SSL_CA_FILE`` and its host name checked; ``AMQP_SSL_CERT_FILE`` and
``AMQP_SSL_KEY_FILE`` add a client certificate. A missing file stops the process at start-up,
not at its first publish. Plain ``amqp://`` (dev, on loopback) gets no options.

PostgreSQL needs nothing here: libpq options (``sslmode=verify-full&sslrootcert=...``) ride in
``DATABASE_URL`` and reach psycopg untouched.
"""
from __future__ import annotations

import ssl
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from nameko import config

from suivi_common.settings import setting

AMQP_SSL = "AMQP_SSL"  # nameko.constants.AMQP_SSL_CONFIG_KEY
CA_FILE = "AMQP_SSL_CA_FILE"
CERT_FILE = "AMQP_SSL_CERT_FILE"
KEY_FILE = "AMQP_SSL_KEY_FILE"


class TlsConfigurationError(SystemExit):
    """Raised at start-up; uncaught, Python prints its one-line message and exits with 1."""


def is_tls(uri: str) -> bool:
    return urlsplit(uri).scheme.lower() == "amqps"


def _file(get: Callable[[str], Any], name: str) -> str | None:
    value = str(get(name) or "").strip()
    if not value:
        return None
    if not Path(value).is_file():
        raise TlsConfigurationError(f"{name}={value}: no such file")
    return value


def amqp_ssl_options(uri: str, get: Callable[[str], Any] = setting) -> dict[str, Any] | None:
    """The ``ssl`` argument of a kombu connection to ``uri`` (None unless ``amqps://``)."""
    if not is_tls(uri):
        return None
    host = urlsplit(uri).hostname
    ca_file = _file(get, CA_FILE)
    if ca_file is None:
        raise TlsConfigurationError(f"AMQP_URI is amqps:// but {CA_FILE} is not set")
    cert_file, key_file = _file(get, CERT_FILE), _file(get, KEY_FILE)
    if (cert_file is None) != (key_file is None):
        raise TlsConfigurationError(f"{CERT_FILE} and {KEY_FILE} must be set together")
    if not host:
        raise TlsConfigurationError("AMQP_URI is amqps:// but names no host to check")
    options: dict[str, Any] = {"ca_certs": ca_file, "cert_reqs": ssl.CERT_REQUIRED,
                               "server_hostname": host}  # py-amqp checks the name when set
    if cert_file:
        options.update(certfile=cert_file, keyfile=key_file)
    return options


def configure_nameko(cfg: MutableMapping[str, Any]) -> None:
    """Fill nameko's ``AMQP_SSL`` from the settings, unless the config file sets it."""
    if cfg.get(AMQP_SSL) is None:
        options = amqp_ssl_options(str(cfg.get("AMQP_URI") or setting("AMQP_URI", "") or ""))
        if options is not None:
            cfg[AMQP_SSL] = options


def ssl_for(uri: str) -> Any:
    """The ``ssl`` argument of a connection we open ourselves: nameko's if set, else built."""
    return config.get(AMQP_SSL) or amqp_ssl_options(uri)
