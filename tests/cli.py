"""Running newsroom commands in tests.

``newsroom`` runs a command in this process with typer's runner: the same code, arguments,
environment, output and exit status as a user's shell, without a Python start and the
imports of every library for each command (seconds each, on a small machine).
``newsroom_process`` starts a real ``python -m worker`` where the process itself is under
test: the embedded Redis it starts and stops, its logging set-up, its exit.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import subprocess
import sys

from typer.testing import CliRunner

from tests.conftest import ROOT
from worker.cli import cli
from worker.settings import get_settings

# how the audit log names a change made from this shell
SHELL_USER = f"cli:{getpass.getuser()}@{socket.gethostname()}"

_RUNNER = CliRunner()
# rich sizes its tables from COLUMNS; a wide terminal keeps each row on one line
_WIDE = {"COLUMNS": "200"}


def newsroom(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The command's exit status, standard output and standard error. An exception that is
    not an exit fails the test, as a traceback would in a shell."""
    get_settings.cache_clear()
    try:
        result = _RUNNER.invoke(cli, list(args), env={**env, **_WIDE}, catch_exceptions=False)
    finally:
        get_settings.cache_clear()
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)


def audit_log(env: dict[str, str]) -> list[tuple[str, str, str]]:
    """The audit log, newest first, as `newsroom editors audit` prints it: who, what, on
    what; every entry checked to name no subscriber's address."""
    result = newsroom(env, "editors", "audit", "--json")
    assert result.returncode == 0, result.stderr
    assert "@example.org" not in result.stdout
    return [(e["actor"], e["action"], e["target"]) for e in json.loads(result.stdout)]


def newsroom_process(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker", *args],
        env={**os.environ, **env, **_WIDE},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
