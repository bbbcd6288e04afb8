"""GET /health: the report of ``newsroom health``, over real HTTP."""

from __future__ import annotations

import json

import httpx

from tests.cli import newsroom


def test_the_route_and_the_command_give_the_same_report(
    web: httpx.Client, settings_env: dict[str, str]
) -> None:
    response = web.get("/health")
    assert response.status_code == 503  # no worker and no beat in this test
    command = newsroom(settings_env, "health", "--json")
    assert command.returncode == 1
    served, printed = response.json(), json.loads(command.stdout)
    assert served["healthy"] is printed["healthy"] is False
    outcomes = {name: (check["ok"], check["detail"]) for name, check in served["checks"].items()}
    assert outcomes == {
        name: (check["ok"], check["detail"]) for name, check in printed["checks"].items()
    }
    assert not outcomes["workers"][0]
    assert not outcomes["beat"][0]


def test_only_narrows_the_report_to_what_the_container_probe_needs(web: httpx.Client) -> None:
    response = web.get("/health", params=[("only", "database"), ("only", "redis")])
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "redis"}
    assert web.get("/health", params={"only": "everything"}).status_code == 422
