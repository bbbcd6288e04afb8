"""The embedded Redis: one server per data directory, shared, stopped by the last user."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import wait_until
from worker.embedded_redis import EmbeddedRedis

SCRIPT = """
import sys, time
from pathlib import Path
from worker.embedded_redis import EmbeddedRedis
redis = EmbeddedRedis(Path(sys.argv[1]))
redis.ensure_running()
redis.client().rpush("queue", sys.argv[2])
if len(sys.argv) > 3:
    time.sleep(float(sys.argv[3]))
"""


def run_user(data_dir: Path, value: str, linger: float | None = None) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-c", SCRIPT, str(data_dir), value]
    if linger is not None:
        args.append(str(linger))
    return subprocess.Popen(args)


def test_started_on_a_socket_in_the_data_dir_and_stopped_by_the_last_user(tmp_path: Path) -> None:
    redis = EmbeddedRedis(tmp_path)
    assert not redis.is_running()
    lingering = run_user(tmp_path, "first", linger=3)
    quick = run_user(tmp_path, "second")
    assert quick.wait(timeout=30) == 0
    # the quick process left while the other still uses the server: it stays up
    assert redis.is_running()
    assert redis.socket == tmp_path / "redis" / "redis.sock"
    assert sorted(redis.client().lrange("queue", 0, -1)) == [b"first", b"second"]
    assert lingering.wait(timeout=30) == 0
    assert not redis.is_running()


def test_data_survives_a_stop_and_a_start(tmp_path: Path) -> None:
    assert run_user(tmp_path, "queued task").wait(timeout=30) == 0
    redis = EmbeddedRedis(tmp_path)
    assert not redis.is_running()
    assert redis.ensure_running(stop_at_exit=False)
    try:
        assert redis.client().lrange("queue", 0, -1) == [b"queued task"]
    finally:
        assert redis.stop()
    assert not redis.stop()


def test_a_crashed_user_does_not_keep_the_server_alive(tmp_path: Path) -> None:
    crashed = run_user(tmp_path, "x", linger=60)
    redis = EmbeddedRedis(tmp_path)
    wait_until(redis.is_running)
    crashed.kill()  # SIGKILL: no exit hook runs, the kernel drops its lock
    crashed.wait()
    assert run_user(tmp_path, "y").wait(timeout=30) == 0
    assert not redis.is_running()
