"""20 logged-in staff at once on the deployed server set-up, over the main pages, on the
large store (issue 21 point 2: >= 150 requests/s, p95 <= 200 ms, 0 errors).

Run: make bench (or pytest -m bench tests/bench/test_bench_load.py -s -p no:cacheprovider).

What runs is what the README deploys: `gunicorn -c gunicorn_web.conf.py dealership.wsgi` (the
Dockerfile's command; workers and threads from that file) with the production settings
(`DJANGO_ENV=production`: DEBUG off, secure cookies, HTTPS behind a proxy, the hashed
static files' manifest, the Redis cache and sessions from REDIS_URL / REDIS_CACHE_URL),
on the test database; BENCH_PORT or a free port. Every request carries
`X-Forwarded-Proto: https`, as the TLS proxy in front adds it. The 20 users log in through
the log-in page itself (CSRF token, password, the session cookie it sets), then run a
closed loop: each requests its role's pages one after the other, no think time, for
BENCH_LOAD_SECONDS. First the same 20 users hit the bare page (/healthz/) only, so the
page mix can be compared with the bare Django page on the same server in the same run.

The run fails only on errors (a status other than 200, a refused connection); the targets
are reported, not asserted (a loaded machine cannot meet them). Because wall time on a
busy machine says little, the row's CPU column gives the server's CPU per request
(gunicorn's processes plus this database's PostgreSQL backends, from /proc) and the note
the load generator's own; on an idle 2-core machine the request rate is bounded by about
2000 ms / (their sum).

The hashed static files are collected once into $VAR_DIR/bench/server/staticfiles (about
a minute) and again only when a file under static/ is newer than their manifest. The
load generator is plain Python (threads + http.client): nothing to install.
"""

import http.client
import os
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from tests.bench.timing import Measurement, percentile, record
from tests.due_workers import ROOT, Proc, database_url, free_port, wait_until

# django_db: so that the test database is set up when this file runs alone.
pytestmark = [pytest.mark.bench, pytest.mark.django_db, pytest.mark.timeout(900)]

USERS = 20
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "30"))
TARGET_RATE = 150.0  # requests/s, issue 21 point 2
TARGET_P95_MS = 200.0
PASSWORD = "demo12345"  # seed_demo's staff password (demo/store.py)
HOST = "127.0.0.1"
PROXY_HEADERS = {"Host": HOST, "X-Forwarded-Proto": "https"}


def _pages(role: str) -> list[str]:
    today = timezone.localdate().isoformat()
    week = (timezone.localdate() + timedelta(days=1)).isoformat()
    return {
        "advisor": [
            "/",
            "/search/?q=E1A",
            f"/appointments/?day={today}",
            "/reception/on-site/",
            "/search/?q=13900012",
            f"/appointments/?day={week}",
            "/delivery/",
        ],
        "controller": ["/workshop/", "/workshop/qc/"],
        "care": ["/followup/calls/care/", "/followup/complaints/", "/followup/calls/"],
        "cashier": ["/delivery/cashier/", "/search/?q=KP0"],
        "manager": [f"/reports/?period=month&date={today}", "/workshop/", "/"],
    }[role]


# 20 users: 8 advisors, 4 workshop, 4 care, 2 cashiers, 2 managers.
MIX = ["advisor"] * 8 + ["controller"] * 4 + ["care"] * 4 + ["cashier"] * 2 + ["manager"] * 2
USERNAMES = {
    "advisor": "advisor",
    "controller": "controller",
    "care": "care",
    "cashier": "cashier",
    "manager": "manager",
}


# ---------------------------------------------------------------------- the server


def _server_env(var_dir: Path) -> dict:
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": database_url(),
        "ALLOWED_HOSTS": HOST,
        "VAR_DIR": str(var_dir),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("DEBUG", "REQUIRE_POSTGRES", "WHITENOISE_USE_FINDERS", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    return env


def _collect_static(env: dict, var_dir: Path) -> None:
    """The production storage needs the hashed files' manifest; collecting compresses every
    file (about a minute), so it runs only when a source file is newer than the manifest."""
    manifest = var_dir / "staticfiles" / "staticfiles.json"
    newest = max(path.stat().st_mtime for path in (ROOT / "static").rglob("*") if path.is_file())
    if manifest.exists() and manifest.stat().st_mtime >= newest:
        return
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
    )


def _start_gunicorn(env: dict, port: int, log_dir: Path) -> Proc:
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    args = [gunicorn, "-c", str(ROOT / "gunicorn_web.conf.py"), "dealership.wsgi"]
    # Only the address differs from the deployment (a free local port).
    return Proc("gunicorn", [*args, "--bind", f"{HOST}:{port}"], env=env, log_dir=log_dir)


# ---------------------------------------------------------------------- CPU from /proc


def _stat(pid: str) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _server_cpu(pgid: int, database: str) -> tuple[float, float]:
    """CPU seconds used so far by gunicorn's process group (its reaped workers included)
    and by the PostgreSQL backends connected to `database`."""
    tick = os.sysconf("SC_CLK_TCK")
    web = db = 0
    for pid in (name for name in os.listdir("/proc") if name.isdigit()):
        fields = _stat(pid)
        if fields is None:
            continue
        # After the name: state ppid pgrp ... utime(11) stime(12) cutime(13) cstime(14).
        if int(fields[2]) == pgid:
            web += sum(int(value) for value in fields[11:15])
        elif f" {database} " in _cmdline(pid) and _cmdline(pid).startswith("postgres:"):
            db += int(fields[11]) + int(fields[12])
    return web / tick, db / tick


# ---------------------------------------------------------------------- HTTP


def _connection(port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(HOST, port, timeout=30)


def _log_in(port: int, username: str) -> str:
    """Log in through the log-in page as a person would; returns the Cookie header."""
    conn = _connection(port)
    try:
        conn.request("GET", "/login/", headers=PROXY_HEADERS)
        response = conn.getresponse()
        page = response.read().decode()
        assert response.status == 200, (response.status, page[:500])
        jar = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urlencode({"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token})
        conn.request(
            "POST",
            "/login/",
            body=body,
            headers={
                **PROXY_HEADERS,
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={jar['csrftoken'].value}",
                "Origin": f"https://{HOST}",
                "Referer": f"https://{HOST}/login/",
            },
        )
        response = conn.getresponse()
        response.read()
        assert response.status == 302, f"log-in of {username} answered {response.status}"
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
        return "; ".join(f"{key}={jar[key].value}" for key in ("csrftoken", "sessionid"))
    finally:
        conn.close()


def _run(port: int, sessions: list[tuple[str, list[str]]], seconds: float):
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def user(cookie: str, urls: list[str]):
        conn = _connection(port)
        headers = {**PROXY_HEADERS, "Cookie": cookie}
        mine, n = [], 0
        while time.monotonic() < stop_at:
            url = urls[n % len(urls)]
            n += 1
            started = time.perf_counter()
            try:
                conn.request("GET", url, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = _connection(port)
                status = repr(exc)
            mine.append((time.perf_counter() - started) * 1000)
            if status != 200:
                with lock:
                    errors.append(f"{url}: {status}")
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=user, args=s) for s in sessions]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.monotonic() - started


class _Phase:
    """One closed-loop run with the CPU it cost: the server's per request, and ours."""

    def __init__(self, port, pgid, database, sessions, seconds):
        web0, db0 = _server_cpu(pgid, database)
        own0 = time.process_time()
        self.latencies, self.errors, self.wall = _run(port, sessions, seconds)
        own = time.process_time() - own0
        web1, db1 = _server_cpu(pgid, database)
        web, db = web1 - web0, db1 - db0
        count = max(1, len(self.latencies))
        self.rate = len(self.latencies) / self.wall
        self.web_ms, self.db_ms, self.client_ms = (1000 * x / count for x in (web, db, own))

    @property
    def server_ms(self) -> float:
        return self.web_ms + self.db_ms

    def cpu_note(self) -> str:
        return (
            f"server CPU {self.server_ms:.1f} ms a request (gunicorn {self.web_ms:.1f}, "
            f"PostgreSQL {self.db_ms:.1f}), load generator {self.client_ms:.1f}"
        )


def test_twenty_users_on_the_deployed_server(scale_data, django_db_blocker, tmp_path):
    var_dir = Path(os.environ.get("VAR_DIR", ROOT / "var")) / "bench" / "server"
    env = _server_env(var_dir)
    _collect_static(env, var_dir)
    database = database_url().rsplit("/", 1)[1]
    with django_db_blocker.unblock():
        port = int(os.environ.get("BENCH_PORT") or free_port())
        gunicorn = _start_gunicorn(env, port, tmp_path)
        try:
            wait_until(lambda: _ready(port), timeout=90, what="gunicorn to answer")
            sessions = [(_log_in(port, USERNAMES[role]), _pages(role)) for role in MIX]
            assert len({cookie for cookie, _ in sessions}) == USERS, "one session per user"
            # Warm every worker's imports, templates and connections.
            _run(port, sessions, 3)
            bare = _Phase(
                port,
                gunicorn.popen.pid,
                database,
                [(cookie, ["/healthz/"]) for cookie, _ in sessions],
                SECONDS / 3,
            )
            mix = _Phase(port, gunicorn.popen.pid, database, sessions, SECONDS)
        finally:
            gunicorn.stop()
    setup = _describe_server(env)
    bare_row = record(
        "load",
        Measurement(
            f"{USERS} users, bare page only (/healthz/)",
            statistics.median(bare.latencies),
            percentile(bare.latencies, 0.95),
            None,
            cpu_ms=bare.server_ms,
            note=f"{bare.rate:.0f} requests/s, {len(bare.errors)} errors; {bare.cpu_note()}",
        ),
    )
    p95 = percentile(mix.latencies, 0.95)
    met = mix.rate >= TARGET_RATE and p95 <= TARGET_P95_MS and not mix.errors
    row = record(
        "load",
        Measurement(
            f"{USERS} users, main pages mix, {setup}",
            statistics.median(mix.latencies),
            p95,
            None,
            cpu_ms=mix.server_ms,
            note=f"{mix.rate:.1f} requests/s over {mix.wall:.0f} s, {len(mix.errors)} errors"
            + (f" (first: {mix.errors[0]})" if mix.errors else "")
            + f"; {mix.cpu_note()}; target >= {TARGET_RATE:.0f}/s with p95 <= "
            f"{TARGET_P95_MS:.0f} ms: {'met' if met else 'not met'}",
        ),
        baseline=bare_row,
    )
    print(f"\nload run: {row.note}; median {row.median_ms:.0f} ms, p95 {p95:.0f} ms")
    assert not mix.errors, mix.errors[:5]
    assert not bare.errors, bare.errors[:5]


def _describe_server(env: dict) -> str:
    """'gunicorn 2 x 4 threads' or 'gunicorn x5 sync', as gunicorn_web.conf.py chose."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import runpy; c = runpy.run_path('gunicorn_web.conf.py'); "
            "print(c['workers'], c['threads'])",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    workers, threads = int(out[0]), int(out[1])
    if threads > 1:
        return f"gunicorn {workers} x {threads} threads"
    return f"gunicorn x{workers} sync"


def _ready(port: int) -> bool:
    try:
        conn = _connection(port)
        conn.request("GET", "/healthz/", headers=PROXY_HEADERS)
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False
