"""Private services for the fault drills: a PostgreSQL cluster, the web on gunicorn, an HTTP
client that fills in forms the way the browser does, and a small full filesystem.

Nothing here touches the shared PostgreSQL (5432) or Redis (6379): every server a drill
stops or restarts is its own, on its own port. `DRILL_PORT_BASE` (e.g. 8390) pins the
ports a drill uses to base, base+1, …; unset, free ports are picked.
"""

import contextlib
import glob
import os
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import psycopg2
import requests
from django.db import connection

from tests.due_workers import Proc, free_port, wait_until

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
TEST_PASSWORD = "pw-for-tests-1"  # noqa: S105 - the test factories' password


def drill_port(offset: int) -> int:
    base = os.environ.get("DRILL_PORT_BASE")
    return int(base) + offset if base else free_port()


# ---------------------------------------------------------------- PostgreSQL


def pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class PrivatePostgres:
    """A throwaway cluster in a temporary folder (run as `postgres` when we are root)."""

    def __init__(self, port: int):
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="drill-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.dir, user="postgres", group="postgres")
        self._run(
            pg_bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self.start()

    def _run(self, *args: str, check=True) -> subprocess.CompletedProcess:
        command = list(args)
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=60)

    def _ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            pg_bin("pg_ctl"), action, "-D", str(self.data), "-o", options, "-l", str(self.log),
            "-w", "-t", "30", *extra,
        )  # fmt: skip

    def start(self):
        self._ctl("start")

    def stop(self):
        self._ctl("stop", "-m", "fast")

    def restart(self):
        """What an operator's restart does: every session is terminated, then it comes back."""
        self._ctl("restart", "-m", "fast")

    def running(self) -> bool:
        return (
            self._run(pg_bin("pg_ctl"), "status", "-D", str(self.data), check=False).returncode == 0
        )

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str):
        return psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database)

    def copy_of_test_database(self, database: str) -> str:
        """A copy of this pytest run's test database (schema and committed rows)."""
        source = connection.settings_dict
        subprocess.run(
            [
                pg_bin("createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                database,
            ],
            check=True,
            timeout=30,
        )
        dump = subprocess.Popen(
            [
                pg_bin("pg_dump"), "--no-owner", "--no-privileges",
                "-h", source["HOST"] or "127.0.0.1", "-p", str(source["PORT"] or 5432),
                "-U", source["USER"], source["NAME"],
            ],
            stdout=subprocess.PIPE,
            env={**os.environ, "PGPASSWORD": source.get("PASSWORD") or ""},
        )  # fmt: skip
        subprocess.run(
            [
                pg_bin("psql"), "-q", "-v", "ON_ERROR_STOP=1", "-o", os.devnull,
                "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
            ],
            stdin=dump.stdout,
            check=True,
            timeout=120,
        )  # fmt: skip
        assert dump.wait(timeout=30) == 0, "pg_dump of the test database failed"
        return self.url(database)

    def destroy(self):
        with contextlib.suppress(Exception):
            self._run(
                pg_bin("pg_ctl"), "stop", "-D", str(self.data), "-m", "immediate", check=False
            )
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- the web on gunicorn


def start_web(*, env: dict, log_dir: Path, port: int, workers: int = 2) -> Proc:
    """The production web server (gunicorn, sync workers) on `port`, with DEBUG off."""
    args = [
        GUNICORN,
        "dealership.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
        "--access-logfile",
        "-",
    ]
    web = Proc(f"web-{port}", args, {**env, "DEBUG": "0"}, log_dir)
    base = f"http://127.0.0.1:{port}"

    def answers():
        assert web.popen.poll() is None, f"gunicorn exited:\n{web.output()[-3000:]}"
        try:
            return requests.get(base + "/login/", timeout=30).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_until(answers, timeout=40, what="gunicorn to answer", every=0.3)
    except BaseException:
        web.kill()
        raise
    web.base_url = base
    return web


class _Forms(HTMLParser):
    """The fields of every <form> of a page, as the browser would submit them unchanged."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, dict]] = []
        self._form: dict | None = None
        self._textarea: str | None = None
        self._select: str | None = None
        self._chosen = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {}
            self.forms.append((a.get("action") or "", self._form))
        elif tag == "option" and self._form is not None and self._select:
            # A single select submits its selected option, else its first one.
            if "selected" in a or self._form[self._select] is None and not self._chosen:
                self._form[self._select] = a.get("value", "")
                self._chosen = "selected" in a
        elif self._form is None or not a.get("name"):
            return
        elif tag == "input":
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form[a["name"]] = a.get("value", "on")
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self._form[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self._form[a["name"]] = ""
        elif tag == "select":
            self._select = a["name"]
            self._form[a["name"]] = None
            self._chosen = False

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None


def form_fields(html: str, action: str) -> dict:
    """The submitted fields of the page's form posting to `action` (a path)."""
    parser = _Forms()
    parser.feed(html)
    for form_action, fields in parser.forms:
        if form_action == action:
            return {k: v for k, v in fields.items() if v is not None}
    raise AssertionError(f"no form posting to {action} on the page")


class WebSession:
    """One person's browser: cookies, the CSRF header on every POST, no redirects followed."""

    def __init__(self, base_url: str, language: str = "zh-hans"):
        self.base_url = base_url
        self.http = requests.Session()
        self.http.cookies.set("django_language", language)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(
            urljoin(self.base_url, path), allow_redirects=False, timeout=30, **kwargs
        )

    def post(self, path: str, data=None, **kwargs) -> requests.Response:
        headers = {"X-CSRFToken": self.http.cookies.get("csrftoken", ""), "Referer": self.base_url}
        return self.http.post(
            urljoin(self.base_url, path),
            data=data,
            headers=headers,
            allow_redirects=False,
            timeout=kwargs.pop("timeout", 30),
            **kwargs,
        )

    def login(self, username: str, password: str = TEST_PASSWORD) -> None:
        self.get("/login/")
        response = self.post("/login/", {"username": username, "password": password})
        assert response.status_code == 302, f"log-in of {username} failed: {response.status_code}"


# ---------------------------------------------------------------- a full filesystem


class CannotMount(Exception):
    pass


class FullDisk:
    """A 1 MiB tmpfs mounted at `path`, filled until the kernel says ENOSPC, then `free`
    bytes given back, so the next write stops part-way with a real "No space left on device".
    Needs root (mount); `FullDisk.available()` says whether it can be made here."""

    def __init__(self, path: Path, *, free: int = 8192):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "drill-full", str(self.path)],
            capture_output=True,
            text=True,
        )
        if mounted.returncode:
            raise CannotMount(mounted.stderr.strip())
        self.filler = self.path / ".filler"
        try:
            self.fill_up()
            size = self.filler.stat().st_size
            os.truncate(self.filler, max(size - free, 0))
        except BaseException:
            self.unmount()
            raise

    def fill_up(self) -> None:
        """Write to the filler until the kernel refuses: not one byte left."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (4096, 512, 1):
                block = b"\0" * size
                with contextlib.suppress(OSError):
                    while True:
                        os.write(fd, block)
        finally:
            os.close(fd)
        assert self.free_space() == 0

    @staticmethod
    def available() -> bool:
        return os.geteuid() == 0 and shutil.which("mount") is not None

    def free_space(self) -> int:
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize

    def make_room(self) -> None:
        self.filler.unlink()

    def files(self) -> list[str]:
        return sorted(
            str(p.relative_to(self.path))
            for p in self.path.rglob("*")
            if p.is_file() and p != self.filler
        )

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=False, capture_output=True)
