"""20 logged-in staff at once on gunicorn, over the main pages, on the large store.

Run: make bench (or pytest -m bench tests/bench/test_bench_load.py -s -p no:cacheprovider).
The bench starts its own gunicorn (DEBUG off, BENCH_PORT or a free port) on the test
database, logs 20 users in (sessions committed like a real log-in), and runs a closed
loop: each user requests its role's pages one after the other, no think time, for
BENCH_LOAD_SECONDS. First the same 20 users hit the bare page (/healthz/) only, so the
page mix can be compared with the bare Django page on the same server in the same run.
The load generator is plain Python (threads + http.client): nothing to install.
"""

import http.client
import os
import statistics
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from dealership.models import User
from tests.bench.timing import Measurement, percentile, record
from tests.due_workers import ROOT, Proc, database_url, free_port, wait_until

pytestmark = [pytest.mark.bench, pytest.mark.timeout(900)]

USERS = 20
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "30"))
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", str(2 * (os.cpu_count() or 1) + 1)))


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


def _run(port: int, sessions: list[tuple[str, list[str]]], seconds: float):
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def user(cookie: str, urls: list[str]):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, n = [], 0
        while time.monotonic() < stop_at:
            url = urls[n % len(urls)]
            n += 1
            started = time.perf_counter()
            try:
                conn.request("GET", url, headers={"Cookie": cookie, "Host": "127.0.0.1"})
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
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


def test_twenty_users_on_gunicorn(scale_data, django_db_blocker, tmp_path):
    cookies = []
    with django_db_blocker.unblock():
        for role in MIX:
            client = Client()
            client.force_login(User.objects.get(username=USERNAMES[role]))
            cookies.append((f"sessionid={client.cookies['sessionid'].value}", _pages(role)))
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        port = int(os.environ.get("BENCH_PORT") or free_port())
        gunicorn = Proc(
            "gunicorn",
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "dealership.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(WORKERS),
                "--access-logfile",
                "-" if os.environ.get("BENCH_ACCESS_LOG") else "/dev/null",
            ],
            env=env,
            log_dir=tmp_path,
        )
        try:
            wait_until(lambda: _ready(port), timeout=60, what="gunicorn to answer")
            # Warm every worker's imports and templates.
            _run(port, cookies, 3)
            bare_lat, bare_err, bare_s = _run(
                port, [(cookie, ["/healthz/"]) for cookie, _ in cookies], SECONDS / 3
            )
            lat, err, wall = _run(port, cookies, SECONDS)
        finally:
            gunicorn.stop()
    bare = record(
        "load",
        Measurement(
            f"{USERS} users, bare page only (/healthz/)",
            statistics.median(bare_lat),
            percentile(bare_lat, 0.95),
            None,
            note=f"{len(bare_lat) / bare_s:.0f} requests/s, {len(bare_err)} errors",
        ),
    )
    row = record(
        "load",
        Measurement(
            f"{USERS} users, main pages mix, gunicorn x{WORKERS}",
            statistics.median(lat),
            percentile(lat, 0.95),
            None,
            note=f"{len(lat) / wall:.1f} requests/s over {wall:.0f} s, {len(err)} errors"
            + (f" (first: {err[0]})" if err else ""),
        ),
        baseline=bare,
    )
    print(f"\nload run: {row.note}; median {row.median_ms:.0f} ms, p95 {row.p95_ms:.0f} ms")
    assert not err, err[:5]
    assert not bare_err, bare_err[:5]


def _ready(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/healthz/", headers={"Host": "127.0.0.1"})
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False
