"""A short schemathesis run over the whole API as every role (the CI-sized cut of `make fuzz`):
the explicit examples, one fuzzing pass and the stateful phase over the schema's links.

Needs PostgreSQL (DATABASE_URL): it fills a database of its own, `<name>_fuzz` on the same
server, seeded by seed_demo on the first run, and serves the app with gunicorn on a free
port. Asserts
what scripts/fuzz.sh asserts: zero 5xx answers, zero schema violations.
Select or skip it with `-m fuzz` / `-m "not fuzz"`.
"""

import os
import re
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
from django.conf import settings

BASE = Path(settings.BASE_DIR)
# Scenarios of the stateful phase per role (each at most 6 calls along the links).
STATEFUL_SCENARIOS = 12
ROLES = {
    "advisor",
    "controller",
    "tech1",
    "qc",
    "cashier",
    "care",
    "claims",
    "manager",
    "admin",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fuzz_database(url: str) -> tuple[str, bool]:
    """The fuzz database's URL, and whether it was created (and so still needs the seed)."""
    import psycopg2

    parts = urlparse(url)
    name = parts.path.lstrip("/") + "_fuzz"
    admin = psycopg2.connect(urlunparse(parts._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        created = cursor.fetchone() is None
        if created:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return urlunparse(parts._replace(path="/" + name)), created


@pytest.mark.fuzz
@pytest.mark.timeout(1200)
def test_a_short_fuzz_run_finds_no_server_error_and_no_schema_violation(tmp_path):
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("the fuzz run needs PostgreSQL (set DATABASE_URL)")
    database, created = _fuzz_database(url)
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "FUZZ_PORT": str(_free_port()),
        "FUZZ_OUT": str(tmp_path),
        "FUZZ_EXAMPLES": os.environ.get("FUZZ_EXAMPLES", "3"),
        # No time budget: the examples and one fuzzing pass, 3 cases per operation, then
        # STATEFUL_SCENARIOS chains of calls along the schema's links, so every role sends
        # the same requests however loaded the machine is (make fuzz runs long).
        "FUZZ_MAX_TIME": os.environ.get("FUZZ_MAX_TIME", "0"),
        "FUZZ_PHASES": os.environ.get("FUZZ_PHASES", "examples,fuzzing,stateful"),
        "FUZZ_STATEFUL_SCENARIOS": os.environ.get(
            "FUZZ_STATEFUL_SCENARIOS", str(STATEFUL_SCENARIOS)
        ),
        "FUZZ_STATEFUL_STEPS": os.environ.get("FUZZ_STATEFUL_STEPS", "6"),
    }
    if not created:  # seeded by an earlier run: migrate only (seed_demo takes a minute)
        env["FUZZ_SKIP_SEED"] = "1"
    result = subprocess.run(
        ["bash", "scripts/fuzz.sh"], cwd=BASE, env=env, capture_output=True, text=True
    )
    summary = re.search(r"fuzz: (\d+) API requests sent, (\d+) server errors", result.stdout)
    print(result.stdout[-3000:])
    assert summary, result.stdout[-3000:] + result.stderr[-3000:]
    sent, errors = int(summary.group(1)), int(summary.group(2))
    roles = re.findall(r"fuzz as (\w+): (\d+) API requests, (\d+) server errors", result.stdout)
    assert {role for role, _sent, _errors in roles} == ROLES
    # 3 cases for each of the API's operations (about 100), whatever the role may see.
    assert all(int(role_sent) > 300 for _role, role_sent, _errors in roles), roles
    stateful = dict(re.findall(r"fuzz as (\w+):.* stateful: (\d+) scenarios", result.stdout))
    if "stateful" in env["FUZZ_PHASES"]:
        assert set(stateful) == ROLES
        assert all(int(count) >= STATEFUL_SCENARIOS for count in stateful.values()), stateful
    assert sent > 100
    assert errors == 0
    assert result.returncode == 0, result.stdout[-3000:]
