"""The dry-run publisher writes what would have gone out, and sends nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.social.clients.conftest import assert_no_secret, outgoing
from worker.settings import Settings
from worker.social.clients import DryRunPublisher, Published, dry_run_file, publisher_for


def test_each_post_is_one_json_line(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    publisher = publisher_for(settings, "test_dry")
    assert isinstance(publisher, DryRunPublisher)
    post = outgoing("test_dry", post_id=7)

    assert publisher.publish(post) == Published("dry-run-7", "")
    publisher.publish(outgoing("test_dry", post_id=8, text="Deuxième"))
    publisher.close()

    first, second = (json.loads(line) for line in dry_run_file(settings).read_text().splitlines())
    assert dry_run_file(settings) == settings.data_dir / "social" / "dry-run.jsonl"
    at = datetime.fromisoformat(first.pop("at"))
    assert at.tzinfo == UTC
    assert first == {
        "account": "test_dry",
        "platform": "linkedin",
        "post_id": 7,
        "text": post.text,
        "link": post.link,
        "title": post.title,
    }
    assert (second["post_id"], second["text"]) == (8, "Deuxième")
    assert "dry run: post 7 for test_dry (linkedin)" in caplog.text
    assert_no_secret(caplog.text)
