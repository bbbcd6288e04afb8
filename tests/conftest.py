"""Real services for the tests: SQLite and PostgreSQL, Redis, a Celery worker, an SMTP server.

A service that cannot be reached skips its tests with the reason on a developer's machine
and fails them under CI=true, so CI never passes by skipping.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from aiosmtpd.controller import Controller
from amqp.exceptions import NotFound
from kombu import Connection
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from worker.celery_app import connect
from worker.settings import Settings, get_settings, load_settings
from worker.store import Base, get_engine, session_factory, upgrade

ROOT = Path(__file__).resolve().parent.parent
TEST_CONFIG = Path(__file__).resolve().parent / "newsroom.test.toml"
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
# One Redis database per pytest-xdist process (13, 14, ... from TEST_REDIS_URL's number):
# each test empties its own.
_REDIS_SERVER, _, _FIRST_DB = os.environ.get(
    "TEST_REDIS_URL", "redis://127.0.0.1:6379/13"
).rpartition("/")
_XDIST_INDEX = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:])
TEST_REDIS_URL = f"{_REDIS_SERVER}/{int(_FIRST_DB) + _XDIST_INDEX}"
TEST_AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"required service unavailable under CI: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- databases -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """A database of its own on the local PostgreSQL, dropped at the end of the session."""
    name = f"newsroom_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL at {POSTGRES_ADMIN_URL}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield f"{url}/{name}"
    get_engine(f"{url}/{name}").dispose()
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'newsroom.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each storage test runs on SQLite and on PostgreSQL, from an empty migrated schema."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    upgrade(url)
    yield url
    truncate(url)


# For tests of a presentation layer over functions tested on both databases (the CLI run as
# a process, the pages): the second database would only double their time.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def truncate(url: str) -> None:
    engine = get_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # table names come from our own metadata, never from input
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        else:
            for table in Base.metadata.sorted_tables[::-1]:
                connection.execute(table.delete())


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return session_factory(database_url)


# --- Redis -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis database reserved for the tests (TEST_REDIS_URL), emptied before use."""
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        unavailable(f"Redis at {TEST_REDIS_URL}: {exc}")
    return TEST_REDIS_URL


@pytest.fixture
def broker_url(request: pytest.FixtureRequest, redis_url: str) -> str:
    """The Celery broker: Redis (REDIS_URL) unless a module parametrizes it to "amqp",
    RabbitMQ, whose newsroom queues are emptied first so no earlier test's task arrives."""
    if getattr(request, "param", "redis") == "redis":
        return redis_url
    try:
        with Connection(TEST_AMQP_URL, connect_timeout=3) as connection:
            for queue in ("newsroom", "social"):
                if _declared_without_consumers(connection, queue):
                    with connection.channel() as channel:
                        channel.queue_purge(queue)
    except OSError as exc:
        unavailable(f"RabbitMQ at {TEST_AMQP_URL}: {exc}")
    return TEST_AMQP_URL


def _declared_without_consumers(connection: Connection, queue: str) -> bool:
    """Whether ``queue`` exists (else there is nothing to purge), once nobody consumes
    from it. RabbitMQ's queues are shared by every test run on its virtual host: a worker
    of another run would take this test's tasks and look for them in its own database. A
    worker this process just stopped may take a moment to let go."""
    deadline = time.monotonic() + 10
    while True:
        with connection.channel() as channel:
            try:
                consumers = channel.queue_declare(queue, passive=True).consumer_count
            except NotFound:
                return False
        if consumers == 0:
            return True
        if time.monotonic() > deadline:
            pytest.fail(
                f"RabbitMQ queue {queue!r} at {TEST_AMQP_URL} has {consumers} consumer(s) "
                "from outside this test: another test run or a stray newsroom worker on "
                "the same virtual host; stop it (one RabbitMQ test run at a time).\n"
                + rabbitmq_state()
            )
        time.sleep(0.2)


def rabbitmq_state() -> str:
    """Who holds what on the local RabbitMQ, for a failing test's report: its queues, its
    channels (named by the client's port) and the local process behind each such port."""
    commands = {
        "queues": [
            "rabbitmqctl",
            "list_queues",
            "-q",
            "name",
            "messages_ready",
            "messages_unacknowledged",
            "consumers",
        ],
        "channels": [
            "rabbitmqctl",
            "list_channels",
            "-q",
            "name",
            "consumer_count",
            "messages_unacknowledged",
            "prefetch_count",
        ],
        "client sockets": ["ss", "-tnpH", "( dport = :5672 )"],
        "processes": ["ps", "-eo", "pid,pgid,etimes,stat,args"],
    }
    parts = []
    for title, command in commands.items():
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=20)
            output = done.stdout + done.stderr
        except (OSError, subprocess.TimeoutExpired) as exc:
            output = f"{command[0]}: {exc}"
        if title == "processes":
            output = "\n".join(line for line in output.splitlines() if "python" in line)
        parts.append(f"--- {title}\n{output.strip()}")
    return "\n".join(parts)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failing RabbitMQ test reports the broker's state, taken at once."""
    outcome = yield
    report = outcome.get_result()
    params = getattr(getattr(item, "callspec", None), "params", {})
    if report.failed and params.get("broker_url") == "amqp":
        report.sections.append(("RabbitMQ", rabbitmq_state()))


# Celery with both brokers, for the end-to-end modules: pytestmark = BOTH_BROKERS
BOTH_BROKERS = pytest.mark.parametrize("broker_url", ["redis", "amqp"], indirect=True)
RABBITMQ_GROUP = "rabbitmq"  # the pytest-xdist group of the tests on the shared RabbitMQ


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """RabbitMQ runs on SQLite only: the broker and the database are independent, and the
    end-to-end tests are the slow ones. The RabbitMQ tests share one virtual host and its
    queues, so pytest-xdist runs them one after another in one process."""
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        both = params.get("broker_url") == "amqp" and params.get("database_url") == "postgresql"
        if params.get("broker_url") == "amqp":
            item.add_marker(pytest.mark.xdist_group(RABBITMQ_GROUP))
        (drop if both else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


_AMQP_ID = re.compile(r"[\[-]amqp[\]-]")  # the "amqp" of BOTH_BROKERS in a test id


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """Refuse to run the RabbitMQ tests in several processes at once: they would share
    queues and take each other's tasks, one run in a few. pytest-xdist groups them only
    with --dist loadgroup, by renaming their node ids, which some pytest releases ignore
    without a word (pytest-dev/pytest-xdist#1386)."""
    config = node.config
    if config.getoption("numprocesses") in (None, 0, 1):
        return
    ungrouped = [i for i in ids if _AMQP_ID.search(i) and not i.endswith(f"@{RABBITMQ_GROUP}")]
    if not ungrouped:
        return
    if config.getoption("dist") != "loadgroup":
        why = "run them with --dist loadgroup, as make test does"
    else:
        why = "this pytest and pytest-xdist do not work together (see the pin in pyproject.toml)"
    pytest.exit(
        f"pytest-xdist would run {ungrouped[0]} (and {len(ungrouped) - 1} more RabbitMQ "
        f"tests) apart from the others: {why}",
        returncode=pytest.ExitCode.USAGE_ERROR,
    )


# --- SMTP ------------------------------------------------------------------------------


@dataclass
class SmtpSink:
    """What a real SMTP server (aiosmtpd) received, and answers to give."""

    port: int
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> SMTP reply at RCPT
    reject_data: dict[str, str] = field(default_factory=dict)  # recipient -> reply at DATA
    refuse_sender: str | None = None  # reply to MAIL FROM
    pipelining: bool = True  # advertise RFC 2920 PIPELINING, as real relays do
    hang_up_after_data: set[str] = field(default_factory=set)  # keep it, never answer
    noop_reply: str = "250 OK"
    received_at: list[float] = field(default_factory=list)
    hold_data: threading.Event = field(default_factory=threading.Event)  # set: DATA waits
    held_data: int = 0  # how many DATA commands have waited on hold_data
    lock: threading.Lock = field(default_factory=threading.Lock)
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        """Close the port: connections are refused until start() (an SMTP server down)."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def per_recipient(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self.lock:
            for recipients, _ in self.messages:
                for recipient in recipients:
                    counts[recipient] = counts.get(recipient, 0) + 1
        return counts

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_NOOP(self, server, session, envelope, arg):
        return self.noop_reply

    async def handle_MAIL(self, server, session, envelope, address, options):
        if self.refuse_sender:
            return self.refuse_sender
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.hold_data.is_set():
            self.held_data += 1
            while self.hold_data.is_set():
                await asyncio.sleep(0.01)
        for recipient in envelope.rcpt_tos:
            if recipient in self.reject_data:
                return self.reject_data[recipient]
        if self.hang_up_after_data & set(envelope.rcpt_tos):
            server.transport.close()  # accepted, then the line drops before the "250"
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
            self.received_at.append(time.monotonic())
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    sink.start()
    yield sink
    sink.stop()


# --- settings and a real worker -------------------------------------------------------


def environment(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {
        "NEWSROOM_DATA_DIR": str(tmp_path / "data"),
        "NEWSROOM_CONFIG": str(TEST_CONFIG),
        "NEWSROOM_ENV_FILE": str(tmp_path / "no.env"),
        "EMAIL_BACKEND": "file",
        "PUBLIC_BASE_URL": "https://news.example",
        "SECRET_KEY": "test-secret-key",
    }
    env.update(overrides)
    return env


@pytest.fixture
def settings_env(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    broker_url: str,
    smtp_server: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[dict[str, str]]:
    """Environment of a newsroom process under test (real database, Redis and SMTP server);
    applied to this process too. The Redis database starts empty so no task of an earlier
    test reaches this test's worker. ``@pytest.mark.newsroom_config("...")`` appends TOML
    to the test configuration."""
    redis.Redis.from_url(redis_url).flushdb()
    config = TEST_CONFIG
    marker = request.node.get_closest_marker("newsroom_config")
    if marker:
        config = tmp_path / "newsroom.toml"
        config.write_text(TEST_CONFIG.read_text() + "\n" + marker.args[0], encoding="utf-8")
    env = environment(
        tmp_path,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=broker_url,
        EMAIL_BACKEND="smtp",
        SMTP_URL=smtp_server.url,
        NEWSROOM_CONFIG=str(config),
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


@pytest.fixture
def settings(settings_env: dict[str, str]) -> Settings:
    loaded = load_settings(settings_env)
    connect(loaded)
    return loaded


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log: Path
    node: str = ""  # the worker's Celery node name (none for beat)
    graceful_cleanup: bool = False

    def kill(self) -> None:
        """SIGKILL the whole process group: no warm shutdown, no acknowledgement."""
        with contextlib.suppress(ProcessLookupError):  # the group may be gone already
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def discard(self) -> None:
        """A test's cleanup. On Redis, a kill: the next test empties its database. On
        RabbitMQ, whose queues outlive the test, a warm shutdown that hands back what
        the worker held before the next test purges the queues."""
        if self.process.poll() is None:
            self.stop() if self.graceful_cleanup else self.kill()

    def stop(self) -> None:
        """SIGTERM: a warm shutdown that finishes the message in hand; past 30 s, SIGKILL
        to the whole group, pool children included (one left alive would keep the broker
        connection, and its consumer, open into the next test)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


_started: list[WorkerProcess] = []


@pytest.fixture(autouse=True)
def _no_stray_workers() -> Iterator[None]:
    """Stop every worker and beat a test started, even one that failed before stopping
    them: a stray worker would take the next tests' tasks (with its own settings)."""
    yield
    while _started:
        _started.pop().discard()


def start_worker(
    env: dict[str, str], log: Path, *, concurrency: int = 2, command: str = "worker"
) -> WorkerProcess:
    """A real ``newsroom worker`` (or ``beat``) process, returned once it is ready. It leads
    its own process group, so a test can kill it with its pool children."""
    handle = log.open("ab")
    args = [sys.executable, "-m", "worker", command]
    node = ""
    if command == "worker":
        # a node name of its own: RabbitMQ keeps a killed worker's exclusive control queue
        # a moment, and a successor of the same name could not start
        node = f"test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        args += [f"--concurrency={concurrency}", f"--hostname={node}"]
    process = subprocess.Popen(
        args,
        env={**os.environ, **env, "LOG_LEVEL": "INFO"},
        stdout=handle,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        start_new_session=True,
    )
    ready = b"ready." if command == "worker" else b"beat: Starting..."
    worker = WorkerProcess(process, log, node, env.get("CELERY_BROKER_URL", "").startswith("amqp"))
    _started.append(worker)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"worker exited:\n{log.read_text(errors='replace')}")
        if ready in log.read_bytes():
            return worker
        time.sleep(0.1)
    worker.stop()
    raise RuntimeError(f"worker not ready:\n{log.read_text(errors='replace')}")


@pytest.fixture
def worker(
    settings_env: dict[str, str], settings: Settings, tmp_path: Path
) -> Iterator[WorkerProcess]:
    running = start_worker(settings_env, tmp_path / "worker.log")
    yield running
    running.discard()


def wait_until(
    predicate: Callable[[], object], timeout: float = 30, why: Path | None = None
) -> None:
    """Poll until ``predicate`` holds; on timeout, show the log file ``why`` if given."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    details = why.read_text(errors="replace")[-3000:] if why else ""
    raise AssertionError(f"condition not met within {timeout}s\n{details}")
