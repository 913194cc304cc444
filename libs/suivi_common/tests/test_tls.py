"""TLS to the broker (``suivi_common.tls``) and libpq TLS options in DATABASE_URL.

The options are checked twice: as data (what an ``amqps://`` URI yields, what a plain one
yields, what a broken setting stops), and in a real TLS handshake through py-amqp's own socket
wrapper, so a key py-amqp ignored would show up as a handshake that should have failed.
"""
from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from socket import socket, socketpair
from typing import Any

import pytest
from amqp.transport import SSLTransport
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from nameko import config

from suivi_common import tls
from suivi_common.container import SuiviContainer

# ------------------------------------------------------------------ certificates


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a broker certificate for ``rabbitmq`` signed by it, and a client certificate."""
    root = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("suivi test CA")).issuer_name(_name(
        "suivi test CA")).public_key(ca_key.public_key()).serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256()))
    _write(root / "ca", ca, ca_key)
    for name, serial, san in (("rabbitmq", 2, x509.DNSName("rabbitmq")),
                              ("client", 3, x509.DNSName("leads"))):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(ca.subject)
                .public_key(key.public_key()).serial_number(serial)
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([san]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        _write(root / name, cert, key)
    return root


def settings(**values: str) -> Any:
    return lambda name: values.get(name)


# --------------------------------------------------------------------- options


def test_plain_amqp_gets_no_ssl_options(pki: Path) -> None:
    get = settings(AMQP_SSL_CA_FILE=str(pki / "ca.crt"))
    assert tls.amqp_ssl_options("amqp://suivi:pw@127.0.0.1:5672/", get) is None
    assert tls.amqp_ssl_options("amqp://suivi:pw@127.0.0.1:5672/", settings()) is None


def test_amqps_verifies_the_chain_against_the_ca_file_and_checks_the_host(pki: Path) -> None:
    get = settings(AMQP_SSL_CA_FILE=str(pki / "ca.crt"))
    options = tls.amqp_ssl_options("amqps://suivi:pw@rabbitmq.suivi.svc:5671/", get)
    assert options == {"ca_certs": str(pki / "ca.crt"), "cert_reqs": ssl.CERT_REQUIRED,
                       "server_hostname": "rabbitmq.suivi.svc"}


def test_amqps_presents_the_client_certificate_when_both_files_are_set(pki: Path) -> None:
    get = settings(AMQP_SSL_CA_FILE=str(pki / "ca.crt"), AMQP_SSL_CERT_FILE=str(pki / "client.crt"),
                   AMQP_SSL_KEY_FILE=str(pki / "client.key"))
    options = tls.amqp_ssl_options("AMQPS://rabbitmq/", get)
    assert options is not None
    assert (options["certfile"], options["keyfile"]) == (str(pki / "client.crt"),
                                                         str(pki / "client.key"))
    assert options["cert_reqs"] == ssl.CERT_REQUIRED


@pytest.mark.parametrize(("values", "message"), [
    ({}, "AMQP_SSL_CA_FILE is not set"),
    ({"AMQP_SSL_CA_FILE": "/nowhere/ca.crt"}, "AMQP_SSL_CA_FILE=/nowhere/ca.crt: no such file"),
    ({"AMQP_SSL_CA_FILE": "ca.crt", "AMQP_SSL_CERT_FILE": "client.crt"},
     "AMQP_SSL_CERT_FILE and AMQP_SSL_KEY_FILE must be set together"),
    ({"AMQP_SSL_CA_FILE": "ca.crt", "AMQP_SSL_KEY_FILE": "/nowhere/client.key"},
     "AMQP_SSL_KEY_FILE=/nowhere/client.key: no such file"),
])
def test_a_broken_tls_setting_is_a_clear_error(pki: Path, values: dict[str, str],
                                               message: str) -> None:
    values = {k: v if v.startswith("/") else str(pki / v) for k, v in values.items()}
    with pytest.raises(tls.TlsConfigurationError, match=message):
        tls.amqp_ssl_options("amqps://suivi:pw@rabbitmq:5671/", settings(**values))


def test_nameko_config_gets_the_options_unless_it_sets_its_own(pki: Path) -> None:
    cfg: dict[str, Any] = {"AMQP_URI": "amqps://rabbitmq:5671/",
                           "AMQP_SSL_CA_FILE": str(pki / "ca.crt")}
    with config.patch({"AMQP_SSL_CA_FILE": str(pki / "ca.crt")}):
        tls.configure_nameko(cfg)
        assert cfg["AMQP_SSL"]["server_hostname"] == "rabbitmq"
        own = {"AMQP_URI": "amqps://rabbitmq:5671/", "AMQP_SSL": {"ca_certs": "mine.pem"}}
        tls.configure_nameko(own)
        assert own["AMQP_SSL"] == {"ca_certs": "mine.pem"}
        plain: dict[str, Any] = {"AMQP_URI": "amqp://127.0.0.1:5672/"}
        tls.configure_nameko(plain)
        assert "AMQP_SSL" not in plain


class _Probe:
    name = "tls_probe"


def test_a_service_with_amqps_and_no_ca_file_stops_at_start_up() -> None:
    with config.patch({"AMQP_URI": "amqps://suivi:pw@rabbitmq:5671/", "SUIVI_ENV": "test",
                       "AMQP_SSL_CA_FILE": "/nowhere/ca.crt"}):
        container = SuiviContainer(_Probe)
        with pytest.raises(tls.TlsConfigurationError, match="no such file"):
            container.start()
        assert "AMQP_SSL" not in config


# ------------------------------------------------------------ real handshakes


@pytest.fixture
def broker_side(pki: Path) -> Iterator[tuple[socket, list[BaseException]]]:
    """One end of a socket pair speaking TLS as a broker with the ``rabbitmq`` certificate."""
    server_end, client_end = socketpair()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "rabbitmq.crt", pki / "rabbitmq.key")
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            with context.wrap_socket(server_end, server_side=True) as conn:
                conn.sendall(conn.recv(16))
        except (OSError, ssl.SSLError) as exc:
            errors.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield client_end, errors
    client_end.close()
    thread.join(timeout=10)


def _handshake(sock: socket, options: dict[str, Any]) -> bytes:
    """Wrap as py-amqp does for ``ssl=options``, handshake, and echo a few bytes."""
    wrapped = SSLTransport._wrap_socket_sni(SSLTransport.__new__(SSLTransport), sock, **options)
    wrapped.do_handshake()
    wrapped.sendall(b"AMQP")
    return bytes(wrapped.recv(16))


def test_amqps_options_complete_a_handshake_with_the_broker(pki: Path,
                                                            broker_side: Any) -> None:
    sock, _ = broker_side
    options = tls.amqp_ssl_options("amqps://rabbitmq:5671/",
                                   settings(AMQP_SSL_CA_FILE=str(pki / "ca.crt")))
    assert options is not None
    assert _handshake(sock, options) == b"AMQP"


def test_a_broker_whose_name_differs_from_the_uri_is_refused(pki: Path,
                                                             broker_side: Any) -> None:
    sock, _ = broker_side
    options = tls.amqp_ssl_options("amqps://broker.elsewhere:5671/",
                                   settings(AMQP_SSL_CA_FILE=str(pki / "ca.crt")))
    assert options is not None
    with pytest.raises(ssl.SSLCertVerificationError, match="broker.elsewhere"):
        _handshake(sock, options)


def test_a_broker_signed_by_another_ca_is_refused(pki: Path, broker_side: Any) -> None:
    sock, _ = broker_side
    # The client certificate is no CA: nothing it "signs" is trusted.
    options = tls.amqp_ssl_options("amqps://rabbitmq:5671/",
                                   settings(AMQP_SSL_CA_FILE=str(pki / "client.crt")))
    assert options is not None
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(sock, options)


# ------------------------------------------------------------------ PostgreSQL

LIBPQ_TLS = "sslmode=verify-full&sslrootcert=/etc/suivi/tls/ca.crt"


def test_libpq_tls_options_in_database_url_reach_psycopg() -> None:
    from sqlalchemy import create_engine

    engine = create_engine(f"postgresql+psycopg://leads:pw@postgres:5432/leads?{LIBPQ_TLS}")
    _, kwargs = engine.dialect.create_connect_args(engine.url)
    assert (kwargs["sslmode"], kwargs["sslrootcert"]) == ("verify-full", "/etc/suivi/tls/ca.crt")
    engine.dispose()


def test_migrations_keep_the_libpq_tls_options(monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    from suivi_common import migrations

    seen: list[str] = []

    class Stop(Exception):
        pass

    def connect(dsn: str, **_: Any) -> Any:
        seen.append(dsn)
        raise Stop

    monkeypatch.setattr(psycopg, "connect", connect)
    with pytest.raises(Stop):
        migrations.ensure_database(f"postgresql+psycopg://leads:pw@postgres:5432/leads?{LIBPQ_TLS}")
    params = psycopg.conninfo.conninfo_to_dict(seen[0])  # as libpq reads it
    assert (params["dbname"], params["sslmode"], params["sslrootcert"]) == (
        "postgres", "verify-full", "/etc/suivi/tls/ca.crt")
    config_url = migrations.alembic_config(Path("."), f"postgresql+psycopg://h/leads?{LIBPQ_TLS}")
    assert config_url.get_main_option("sqlalchemy.url").endswith(LIBPQ_TLS)
