"""SMTP over STARTTLS and implicit TLS with authentication, against real aiosmtpd servers."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.conftest import SmtpSink, free_port, unavailable
from tests.delivery.test_backends import message
from worker.delivery import ConnectionFailedError, SmtpBackend


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        unavailable("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"newsroom",
        b"s3cr3t:pass",
    )
    return AuthResult(success=ok, handled=False)


def tls_server(certificate: tuple[Path, Path], *, implicit: bool) -> Iterator[SmtpSink]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    sink = SmtpSink(port=free_port())
    tls = (
        {"ssl_context": context} if implicit else {"tls_context": context, "require_starttls": True}
    )
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=sink.port,
        authenticator=authenticate,
        # an implicit TLS session is encrypted from the start, but aiosmtpd only counts STARTTLS
        auth_require_tls=not implicit,
        **tls,
    )
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture
def starttls_server(certificate: tuple[Path, Path]) -> Iterator[SmtpSink]:
    yield from tls_server(certificate, implicit=False)


@pytest.fixture
def implicit_tls_server(certificate: tuple[Path, Path]) -> Iterator[SmtpSink]:
    yield from tls_server(certificate, implicit=True)


def test_starttls_with_authentication(
    starttls_server: SmtpSink, certificate: tuple[Path, Path]
) -> None:
    url = (
        f"smtp://newsroom:s3cr3t%3Apass@127.0.0.1:{starttls_server.port}"
        f"?starttls=true&cafile={certificate[0]}"
    )
    with SmtpBackend(url) as backend:
        backend.send(message("a@example.org"))
    assert starttls_server.per_recipient() == {"a@example.org": 1}


def test_implicit_tls_with_authentication(
    implicit_tls_server: SmtpSink, certificate: tuple[Path, Path]
) -> None:
    url = (
        f"smtps://newsroom:s3cr3t%3Apass@127.0.0.1:{implicit_tls_server.port}"
        f"?cafile={certificate[0]}"
    )
    with SmtpBackend(url) as backend:
        backend.send(message("b@example.org"))
    assert implicit_tls_server.per_recipient() == {"b@example.org": 1}


def test_wrong_password_and_untrusted_certificate_fail_to_connect(
    starttls_server: SmtpSink, certificate: tuple[Path, Path]
) -> None:
    port = starttls_server.port
    wrong = f"smtp://newsroom:nope@127.0.0.1:{port}?starttls=true&cafile={certificate[0]}"
    with pytest.raises(ConnectionFailedError, match="535"):
        SmtpBackend(wrong).open()
    untrusted = f"smtp://newsroom:s3cr3t%3Apass@127.0.0.1:{port}?starttls=true"
    with pytest.raises(ConnectionFailedError, match="CERTIFICATE_VERIFY_FAILED"):
        SmtpBackend(untrusted).open()
    assert starttls_server.messages == []
