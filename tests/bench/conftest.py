import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from tests.bench import timing
from tests.due_workers import ROOT, database_url

SCALE = int(os.environ.get("BENCH_SCALE", "50000"))  # a busy store's year: 50 000 customers


def _seed(scale: int) -> str:
    """seed_demo in a process of its own when the database can be shared (PostgreSQL).

    The timed process then holds what a server process holds: seeding here left about
    650 000 objects (and every log record of the seed) in it. Measured, that did not
    change a page's cost (README "How fast"), but nothing of the seed can now.
    """
    if connection.vendor != "postgresql":  # an in-memory SQLite test database: seed here
        out = io.StringIO()
        call_command("seed_demo", "--scale", str(scale), stdout=out)
        return out.getvalue()
    env = {**os.environ, "DATABASE_URL": database_url()}
    done = subprocess.run(
        [sys.executable, "manage.py", "seed_demo", "--scale", str(scale)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


def _vacuum() -> None:
    """The benchmarks before the large store's ran in transactions that were rolled back
    (the follow-up bench alone inserts 60 000 customers and 36 000 calls): their dead rows
    stay in the tables and indexes until a vacuum, which a real store's autovacuum does
    within minutes. Without this, the call lists read 36 000 dead calls and the name search
    scans 60 000 dead customers."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


@pytest.fixture(scope="session")
def scale_data(django_db_setup, django_db_blocker):
    """Seed a large store once per bench session into the test database (committed)."""
    with django_db_blocker.unblock():
        started = time.monotonic()
        out = _seed(SCALE)
        seconds = time.monotonic() - started
        _vacuum()
    summary = next((line for line in out.splitlines() if "year of visits" in line), "")
    if summary:  # the first bench to ask seeds the year; the rest find the data
        print(f"\nseed_demo --scale {SCALE}: {seconds:.0f} s. {summary}")
        timing.record(
            "data",
            timing.Measurement(
                f"seed_demo --scale {SCALE}",
                float("nan"),
                float("nan"),
                None,
                note=f"{seconds:.0f} s wall. {summary}",
            ),
        )
    yield SCALE


def pytest_collection_modifyitems(session, config, items):
    """Order of the bench session: first the benchmarks with their own small data sets,
    then those on the shared large store (seeded once, committed), and last those that
    commit and flush the database (transactional_db), whose flush would take the large
    store with it. (Sorting is stable: within a group, the usual order.)"""

    def group(item) -> int:
        names = getattr(item, "fixturenames", ())
        if "transactional_db" in names or "live_server" in names:
            return 2
        return 1 if "scale_data" in names else 0

    items.sort(key=group)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not timing.RESULTS:
        return
    table = timing.markdown_table(timing.RESULTS)
    header = f"Benchmark table ({timing.machine(timing.RESULTS)})"
    terminalreporter.write_sep("=", "make bench: the table")
    terminalreporter.write_line(header)
    terminalreporter.write_line(table)
    var_dir = Path(os.environ.get("VAR_DIR", Path(__file__).resolve().parents[2] / "var"))
    out = var_dir / "bench" / "table.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"{header}\n\n{table}\n")
    terminalreporter.write_line(f"(written to {out})")
