"""DKIM: signatures that verify, over the List-Unsubscribe headers, and keys checked at start."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import dkim
import pytest

from tests.conftest import TEST_CONFIG, environment, unavailable
from worker.delivery import DkimSigner, build_message, sign
from worker.digests import DigestArticle, render_digest
from worker.settings import ConfigError, load_settings

DKIM_CONFIG = '\n[delivery.dkim]\nselector = "nr2026"\ndomain = "lequotidien.example"\n'


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A fresh RSA key made by openssl, and its DNS TXT record."""
    if shutil.which("openssl") is None:
        unavailable("openssl is needed to make a DKIM test key")
    folder = tmp_path_factory.mktemp("dkim")
    private = folder / "private.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True
    )
    public_der = subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public_der)
    return private, record


def signed_message(private_key: bytes) -> bytes:
    digest = render_digest(
        template="digest",
        newsletter_slug="la-matinale",
        newsletter_title="La Matinale",
        language="fr",
        edition=date(2026, 11, 24),
        articles=[DigestArticle(title="« Budget » : l’Assemblée vote", link="https://x.example/a")],
    )
    message = build_message(
        digest,
        sender="La Matinale <matinale@lequotidien.example>",
        reply_to="redaction@lequotidien.example",
        recipient_email="camille@example.org",
        recipient_name="Camille Martin",
        unsubscribe_url="https://news.example/unsubscribe/token",
        unsubscribe_mailto="mailto:unsubscribe@lequotidien.example?subject=token",
        list_id="La Matinale <la-matinale.lequotidien.example>",
    )
    signer = DkimSigner("nr2026", "lequotidien.example", private_key)
    return sign(message, signer).data


def test_signature_verifies_and_covers_list_unsubscribe(key_pair: tuple[Path, bytes]) -> None:
    private, record = key_pair
    data = signed_message(private.read_bytes())
    assert data.startswith(b"DKIM-Signature:")

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == b"nr2026._domainkey.lequotidien.example." else None

    assert dkim.verify(data, dnsfunc=dns)
    signature = data.split(b"\r\nFrom:", 1)[0].replace(b"\r\n", b"").replace(b" ", b"")
    signed = re.search(rb"h=([^;]+)", signature)
    assert signed is not None
    headers = signed[1].lower().split(b":")
    assert b"list-unsubscribe" in headers
    assert b"list-unsubscribe-post" in headers

    tampered = data.replace(b"https://news.example/unsubscribe/token", b"https://evil.example/x")
    assert not dkim.verify(tampered, dnsfunc=dns)


def settings_with(tmp_path: Path, **env: str):
    config = tmp_path / "dkim.toml"
    config.write_text(TEST_CONFIG.read_text() + DKIM_CONFIG)
    return load_settings(environment(tmp_path, NEWSROOM_CONFIG=str(config), **env))


def test_dkim_needs_its_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DKIM_PRIVATE_KEY_FILE: missing"):
        settings_with(tmp_path)


def test_an_unreadable_or_bad_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DKIM_PRIVATE_KEY_FILE: cannot read it"):
        settings_with(tmp_path, DKIM_PRIVATE_KEY_FILE=str(tmp_path / "absent.pem"))
    with pytest.raises(ConfigError, match="not a PEM RSA private key"):
        settings_with(tmp_path, DKIM_PRIVATE_KEY="-----BEGIN PRIVATE KEY-----\nnope\n")


def test_a_good_key_is_loaded_and_masked(tmp_path: Path, key_pair: tuple[Path, bytes]) -> None:
    settings = settings_with(tmp_path, DKIM_PRIVATE_KEY_FILE=str(key_pair[0]))
    assert settings.dkim_private_key == key_pair[0].read_bytes()
    assert "BEGIN" not in repr(settings)
    assert settings.masked()["DKIM_PRIVATE_KEY"] == "********"
