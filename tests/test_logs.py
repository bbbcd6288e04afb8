"""Log lines: JSON when asked, tagged with what they concern, never with an address."""

from __future__ import annotations

import json
import logging

import pytest

from worker.logs import configure, log_context, mask_addresses


@pytest.fixture
def restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_the_context_and_mask_addresses(
    restore_logging: object, capsys: pytest.CaptureFixture[str]
) -> None:
    configure("INFO", "json")
    log = logging.getLogger("worker.delivery")
    with log_context(digest_id=12, batch_id="a1b2c3d4"):
        log.warning("550 5.1.1 <%s>: user unknown", "camille.durand@example.org")
    log.info("outside")
    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert first["level"] == "WARNING"
    assert first["logger"] == "worker.delivery"
    assert first["digest_id"] == 12
    assert first["batch_id"] == "a1b2c3d4"
    assert first["message"] == "550 5.1.1 <c***@example.org>: user unknown"
    assert "digest_id" not in second


def test_text_lines_name_the_context_too(
    restore_logging: object, capsys: pytest.CaptureFixture[str]
) -> None:
    configure("INFO", "text")
    with log_context(post_id=7):
        logging.getLogger("worker.social").info("published")
    assert capsys.readouterr().err.rstrip().endswith("worker.social: published [post_id=7]")


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("to jean.dupont+news@lequotidien.fr", "to j***@lequotidien.fr"),
        ("two: a@b.org, zoé@exemple.fr", "two: a***@b.org, z***@exemple.fr"),
        ("no address: user@localhost", "no address: user@localhost"),
    ],
)
def test_addresses_are_masked(text: str, masked: str) -> None:
    assert mask_addresses(text) == masked
