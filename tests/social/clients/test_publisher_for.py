"""Every live client behind the same contract: chosen by the account's publisher setting,
and failing the same way when the network does."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer

from tests.social.clients.conftest import PAGE_ID, SHORT_TIMEOUT, assert_no_secret, outgoing, slow
from worker.settings import Settings
from worker.social.clients import (
    DryRunPublisher,
    FacebookPublisher,
    LinkedInPublisher,
    NotSent,
    PublishError,
    TwitterPublisher,
    Unconfirmed,
    publisher_for,
)

LIVE = [
    pytest.param("test_x", TwitterPublisher, "/2/tweets", id="x"),
    pytest.param("test_facebook", FacebookPublisher, f"/v24.0/{PAGE_ID}/feed", id="facebook"),
    pytest.param("test_linkedin", LinkedInPublisher, "/rest/posts", id="linkedin"),
]
Client = type[TwitterPublisher | FacebookPublisher | LinkedInPublisher]


def test_each_account_gets_its_publisher(settings: Settings) -> None:
    kinds = {
        account: type(publisher_for(settings, account))
        for account in ("test_x", "test_facebook", "test_linkedin", "test_dry")
    }
    assert kinds == {
        "test_x": TwitterPublisher,
        "test_facebook": FacebookPublisher,
        "test_linkedin": LinkedInPublisher,
        "test_dry": DryRunPublisher,
    }
    with pytest.raises(KeyError, match="no social account 'gone'"):
        publisher_for(settings, "gone")


@pytest.mark.parametrize(("account", "client", "path"), LIVE)
def test_a_post_for_another_account_is_refused(
    settings: Settings, account: str, client: Client, path: str
) -> None:
    publisher = client(settings, account)
    with pytest.raises(ValueError, match="is for 'test_dry'"):
        publisher.publish(outgoing("test_dry"))
    publisher.close()


def failure(settings: Settings, account: str, client: Client, **timeouts: float) -> PublishError:
    publisher = client(settings, account, **timeouts)
    try:
        with pytest.raises(PublishError) as error:
            publisher.publish(outgoing(account))
    finally:
        publisher.close()
    assert_no_secret(str(error.value))
    return error.value


@pytest.mark.parametrize(("account", "client", "path"), LIVE)
def test_refused_connection_is_not_sent(
    closed_port_settings: Settings, account: str, client: Client, path: str
) -> None:
    error = failure(closed_port_settings, account, client)
    assert isinstance(error, NotSent)
    assert error.kind == "not_sent"


@pytest.mark.parametrize(("account", "client", "path"), LIVE)
def test_read_timeout_is_unconfirmed(
    platform: HTTPServer, settings: Settings, account: str, client: Client, path: str
) -> None:
    platform.expect_request(path).respond_with_handler(slow(SHORT_TIMEOUT * 3))
    error = failure(settings, account, client, read_timeout=SHORT_TIMEOUT)
    assert isinstance(error, Unconfirmed)
    assert "Timeout" in str(error)


@pytest.mark.parametrize(("account", "client", "path"), LIVE)
def test_connection_dropped_after_sending_is_unconfirmed(
    hang_up_settings: Settings, account: str, client: Client, path: str
) -> None:
    error = failure(hang_up_settings, account, client)
    assert isinstance(error, Unconfirmed)
    assert error.kind == "unconfirmed"
