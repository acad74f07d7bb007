"""Pages timed in a plain Django process: what a server process pays (issue 21 point 6).

The same request costs more CPU inside pytest than in a plain Django process on the same
data (README "How fast": up to twice for some pages, the cause narrowed but not found).
The bench therefore measures around it: `measure_plain` starts this module as a child
process on the test database, which logs in as each page's user through the test client
and times the page with the bench's own `measure` (warm-up, timed runs, the SQL and
template shares, the machine's load), then hands the rows back as JSON. The child runs
with the test run's settings and, as pytest-django does, `DEBUG` off; pytest and its
plugins are not loaded. Like a gunicorn worker (gunicorn_web.conf.py), it moves what it
holds out of the garbage collector's scans after its first requests (the first row).

Only on PostgreSQL (the child needs a database it can share); on an in-memory SQLite test
database `measure_plain` returns None and the caller times in process.
"""

import gc
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field, fields

MARK = "BENCH-ROWS "


@dataclass(frozen=True)
class Request:
    """One row to time: who asks (None: not logged in), what, and how often."""

    name: str
    url: str
    username: str | None = None
    params: dict = field(default_factory=dict)
    target_ms: float | None = None
    content_type: str | None = None
    runs: int = 30
    warmup: int = 3


def measure_plain(requests: list[Request]):
    """The rows timed in a plain child process, in order; None when the database cannot
    be shared with one."""
    from django.db import connection

    from tests.bench.timing import Measurement
    from tests.due_workers import ROOT, database_url

    if connection.vendor != "postgresql":
        return None
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.plain"],
        input=json.dumps([asdict(request) for request in requests]),
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url(), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith(MARK))
    names = {f.name for f in fields(Measurement)}
    return [
        Measurement(**{k: v for k, v in row.items() if k in names})
        for row in json.loads(line[len(MARK) :])
    ]


def measure_request(client, request: Request):
    """`request` timed through `client` (logged in as its user) with the bench's `measure`."""
    from dealership.models import User
    from tests.bench.timing import measure

    if request.username:
        client.force_login(User.objects.get(username=request.username))
    return measure(
        client,
        request.url,
        name=request.name,
        params=request.params,
        runs=request.runs,
        warmup=request.warmup,
        content_type=request.content_type,
        target_ms=request.target_ms,
    )


def _time_all(requests: list[Request]) -> list[dict]:
    from django.conf import settings
    from django.test import Client

    settings.DEBUG = False  # as pytest-django sets it for the test run
    settings.ALLOWED_HOSTS = ["testserver"]
    rows = []
    for request in requests:
        rows.append(asdict(measure_request(Client(), request)))
        if len(rows) == 1:  # as a gunicorn worker does after its first requests
            gc.collect()
            gc.freeze()
    return rows


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealership.settings")
    import django

    django.setup()
    requests = [Request(**item) for item in json.loads(sys.stdin.read())]
    print(MARK + json.dumps(_time_all(requests)), flush=True)


if __name__ == "__main__":
    main()
