"""Faults an operator meets, with real processes: a worker told to stop (SIGTERM), a mail
server that refuses connections for a minute, and the database out of reach for a few
seconds. Each digest finishes with nobody sent twice and nobody skipped, and
`newsroom digest status` says what happened."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from tests.cli import newsroom
from tests.conftest import BOTH_BROKERS, SQLITE_ONLY, SmtpSink, free_port, start_worker, wait_until
from tests.test_digest_delivery import (
    FAST_RECOVERY,
    assert_nobody_twice_nobody_skipped,
    counts_of,
    seed,
    status_of,
)
from worker.celery_app import connect
from worker.dispatch import queue_digest
from worker.embedded_redis import EmbeddedRedis
from worker.settings import Settings, load_settings
from worker.store import DeliveryStatus, DigestStatus

pytestmark = pytest.mark.newsroom_config(FAST_RECOVERY)


@BOTH_BROKERS
@SQLITE_ONLY
def test_sigterm_lets_a_worker_finish_the_batch_in_hand_and_stop(
    settings_env: dict[str, str],
    settings: Settings,
    sessions: sessionmaker[Session],
    smtp_server: SmtpSink,
    tmp_path: Path,
) -> None:
    emails = seed(settings, sessions, 60)  # six batches of ten, 25 messages a second
    first = start_worker(settings_env, tmp_path / "first.log", concurrency=1)
    digest_id, _ = queue_digest(settings, "la-matinale")
    wait_until(lambda: len(smtp_server.messages) >= 15, why=first.log)
    first.stop()  # SIGTERM, then wait for the process to exit
    assert first.process.returncode == 0
    stopped_at = len(smtp_server.messages)
    # the batch it held went out whole; the others wait in the queue, untouched
    assert stopped_at % 10 == 0, stopped_at
    assert stopped_at < len(emails)
    counts = counts_of(sessions, digest_id)
    assert counts[DeliveryStatus.SENDING] == 0
    assert counts[DeliveryStatus.SENT] == stopped_at
    assert "Warm shutdown" in first.log.read_text()

    second = start_worker(settings_env, tmp_path / "second.log")
    wait_until(lambda: status_of(sessions, digest_id) is DigestStatus.SENT, why=second.log)
    assert smtp_server.per_recipient() == dict.fromkeys(emails, 1)


@BOTH_BROKERS
@SQLITE_ONLY
def test_a_mail_server_refusing_connections_for_a_minute_delays_the_digest_only(
    settings_env: dict[str, str],
    settings: Settings,
    sessions: sessionmaker[Session],
    smtp_server: SmtpSink,
    tmp_path: Path,
) -> None:
    # The full minute on Redis; on RabbitMQ, whose worker holds the retries (ETA messages)
    # itself, two retries' worth (15 s) takes the same path in a quarter of the time.
    down_for = 15 if settings_env["CELERY_BROKER_URL"].startswith("amqp") else 60
    emails = seed(settings, sessions, 30)
    smtp_server.stop()  # connection refused, as from a relay being restarted
    down_at = time.monotonic()
    worker = start_worker(settings_env, tmp_path / "worker.log")
    digest_id, _ = queue_digest(settings, "la-matinale")
    wait_until(lambda: "deferred" in status_text(settings_env, digest_id), why=worker.log)
    assert counts_of(sessions, digest_id)[DeliveryStatus.FAILED] == 0
    time.sleep(max(0.0, down_for - (time.monotonic() - down_at)))
    smtp_server.start()

    # the batches come back on their own backoff (10 s, 20 s, 40 s after each refusal)
    wait_until(
        lambda: status_of(sessions, digest_id) is DigestStatus.SENT, timeout=60, why=worker.log
    )
    assert smtp_server.per_recipient() == dict.fromkeys(emails, 1)
    counts = counts_of(sessions, digest_id)
    assert counts[DeliveryStatus.SENT] == len(emails)
    report = status_text(settings_env, digest_id)
    assert "what happened:" in report
    assert "messages deferred" in report
    assert "Connection refused" in report or "connect" in report.lower()


def status_text(env: dict[str, str], digest_id: int) -> str:
    result = newsroom(env, "digest", "status", str(digest_id))
    assert result.returncode == 0, result.stderr
    return result.stdout


class TcpProxy:
    """A TCP relay to ``target`` that the test can cut: ``cut()`` drops every connection
    and refuses new ones, as a database host unplugged or restarting; ``restore()`` listens
    again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port), reuse_port=True)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self.lock:
            assert self.listener is not None
            # shutdown first: a bare close() leaves the accept() blocked in the other thread
            # listening, and one more connection would get through the cut
            for connection in [self.listener, *self.open]:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self.listener = None
            self.open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()  # the database itself is down: so is this connection
                continue
            with self.lock:
                if self.listener is not listener:  # cut while this one was connecting
                    client.close()
                    server.close()
                    return
                self.open += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@BOTH_BROKERS
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_database_out_of_reach_for_a_few_seconds_delays_the_digest_only(
    settings_env: dict[str, str],
    settings: Settings,
    sessions: sessionmaker[Session],
    smtp_server: SmtpSink,
    database_url: str,
    tmp_path: Path,
) -> None:
    emails = seed(settings, sessions, 60)
    url = make_url(database_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    # the worker and beat reach PostgreSQL through the proxy; the test, directly
    through = {**settings_env, "DATABASE_URL": url.set(port=proxy.port).render_as_string(False)}
    worker = start_worker(through, tmp_path / "worker.log")
    start_worker(through, tmp_path / "beat.log", command="beat")
    digest_id, _ = queue_digest(settings, "la-matinale")
    wait_until(lambda: len(smtp_server.messages) >= 15, why=worker.log)
    # a batch is mid-send when the database goes: its message waits at DATA until the cut
    smtp_server.hold_data.set()
    wait_until(lambda: smtp_server.held_data, why=worker.log)
    proxy.cut()
    smtp_server.hold_data.clear()
    time.sleep(5)
    proxy.restore()

    wait_until(
        lambda: status_of(sessions, digest_id) is DigestStatus.SENT, timeout=60, why=worker.log
    )
    # at most the messages in flight at the cut are unknown
    assert_nobody_twice_nobody_skipped(smtp_server, sessions, digest_id, emails, in_flight=2)
    report = status_text(settings_env, digest_id)
    assert "a batch stopped before recording its results" in report
    # the batch that met the outage was retried, not failed as an unexpected error
    log = worker.log.read_text()
    assert "database out of reach" in log
    assert not [
        line for line in log.splitlines() if "raised unexpected" in line and "batch" in line
    ]


@SQLITE_ONLY  # Redis is the broker here: the test starts its own
def test_redis_restarting_mid_digest_delays_it_only(
    settings_env: dict[str, str],
    sessions: sessionmaker[Session],
    smtp_server: SmtpSink,
    tmp_path: Path,
) -> None:
    # a server of the test's own, with its append-only file, as docker-compose.yml runs it
    server = EmbeddedRedis(tmp_path)
    server.ensure_running(stop_at_exit=False)
    try:
        env = {**settings_env, "REDIS_URL": server.url, "CELERY_BROKER_URL": server.url}
        settings = load_settings(env)
        connect(settings)
        emails = seed(settings, sessions, 60)
        worker = start_worker(env, tmp_path / "worker.log")
        start_worker(env, tmp_path / "beat.log", command="beat")
        digest_id, _ = queue_digest(settings, "la-matinale")
        wait_until(lambda: len(smtp_server.messages) >= 15, why=worker.log)
        server.stop()  # SHUTDOWN, as a service manager asks: the append-only file is written
        time.sleep(3)  # nothing listening
        server.ensure_running(stop_at_exit=False)  # the same socket and files

        wait_until(
            lambda: status_of(sessions, digest_id) is DigestStatus.SENT,
            timeout=60,
            why=worker.log,
        )
        assert_nobody_twice_nobody_skipped(smtp_server, sessions, digest_id, emails, in_flight=2)
    finally:
        server.stop()
