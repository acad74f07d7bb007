"""Real Celery worker / beat / redis-server processes for the due-task drills and benchmark.

The processes see the test database (pytest-django's `test_<name>`), so the
tests that use them need `transactional_db`: rows must be committed to be seen.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)
CELERY = str(Path(sys.executable).with_name("celery"))


def database_url() -> str:
    """The URL of the database this test process uses (the test database)."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


class Proc:
    """A child process in its own process group, with its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict, log_dir: Path):
        self.name = name
        self.log = log_dir / f"{name}.log"
        self._out = self.log.open("wb")
        self.popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(self, text: str, *, timeout: float = 30):
        wait_until(
            lambda: text in self.output() or self.popen.poll() is not None,
            timeout=timeout,
            what=f"{self.name} to print {text!r}",
        )
        assert self.popen.poll() is None, f"{self.name} exited:\n{self.output()[-3000:]}"

    def kill(self):
        """SIGKILL the whole group at once: the worker and its pool children die mid-task."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)
        self._out.close()

    def stop(self, timeout: float = 15):
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return
        self._out.close()


def process_env(*, broker_url: str, **extra: str) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": broker_url,
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    # A server of its own, not a test worker; its cache is the test worker's (settings).
    env.pop("PYTEST_XDIST_WORKER", None)
    if settings.REDIS_CACHE_URL:
        env["REDIS_CACHE_URL"] = settings.REDIS_CACHE_URL
    env.update(extra)
    return env


def start_worker(name: str, *, env: dict, log_dir: Path, concurrency: int = 2, pool="threads"):
    args = [
        CELERY,
        "-A",
        "dealership",
        "worker",
        "--loglevel=INFO",
        f"--pool={pool}",
        f"--concurrency={concurrency}",
        f"--hostname={name}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    worker = Proc(name, args, env, log_dir)
    try:
        worker.wait_for_output("ready.", timeout=40)
    except AssertionError:
        worker.kill()
        raise
    return worker


def start_beat(*, env: dict, log_dir: Path) -> Proc:
    args = [
        CELERY,
        "-A",
        "dealership",
        "beat",
        "--loglevel=INFO",
        f"--pidfile={log_dir / 'beat.pid'}",
        "--max-interval=1",
    ]
    return Proc("beat", args, env, log_dir)


def start_redis(port: int, log_dir: Path) -> Proc:
    redis_server = shutil.which("redis-server")
    assert redis_server, "redis-server is not installed"
    args = [
        redis_server,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(log_dir),
    ]
    server = Proc(f"redis-{port}", args, dict(os.environ), log_dir)
    server.wait_for_output("Ready to accept connections", timeout=15)
    return server
