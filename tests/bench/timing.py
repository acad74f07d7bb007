"""Server-time measurement for the benchmarks, and the one table `make bench` prints.

`measure` runs a page through the in-process test client against the real database
(server time: URL routing, middleware, view, queries, template; no network).
`record` adds a row to the session's table; tests/bench/conftest.py prints the table at
the end of the run and writes it to $VAR_DIR/bench/table.md.

Each row also says where its time went (SQL, templates, the rest) and what the rest of
the machine did meanwhile (`MachineLoad`), so that a page over its target fails the run
only when the machine was idle while it was timed.
"""

import os
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection

# Other processes using more than this many CPUs on average while a row was timed make
# the machine "busy" for that row: its miss is reported, not failed.
BUSY_CPUS = float(os.environ.get("BENCH_BUSY_CPUS", "0.25"))


@dataclass
class Measurement:
    name: str
    median_ms: float
    p95_ms: float
    queries: int | None
    ratio: float | None = None
    note: str = ""
    section: str = ""
    cpu_ms: float | None = None  # this process's own CPU time: what a busy machine inflates least
    sql_share: float | None = None  # of the server time, in SQL (execute wrapper)
    template_share: float | None = None  # outermost Template.render, less the SQL inside it
    target_ms: float | None = None  # the median this row must not exceed
    others_cpus: float | None = None  # CPUs other processes used while the row was timed

    @property
    def busy(self) -> bool:
        return self.others_cpus is not None and self.others_cpus > BUSY_CPUS

    @property
    def over_target(self) -> bool:
        return self.target_ms is not None and self.median_ms > self.target_ms

    def row(self) -> str:
        ratio = f"{self.ratio:5.1f}x" if self.ratio is not None else "   - "
        queries = f"{self.queries:8d}" if self.queries is not None else "       -"
        return f"{self.name:<44} {self.median_ms:8.1f} {self.p95_ms:8.1f} {queries}  {ratio}"


RESULTS: list[Measurement] = []
BASELINE: dict[str, Measurement] = {}
LOAD_AT_START = os.getloadavg()  # imported at collection, before any benchmark runs


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(len(ordered) * fraction)) - 1)]


def _process_ticks(pid: int | str) -> int | None:
    """User + system CPU of a process in clock ticks (None when /proc does not show it)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])  # utime, stime


def _machine_ticks() -> tuple[int, int] | None:
    """(busy, total) clock ticks of all CPUs since boot; steal counts as busy."""
    try:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = values
    return user + nice + system + irq + softirq + steal, sum(values)


def _database_backend_pid() -> int | None:
    """The PostgreSQL server process of this connection, when it runs on this machine:
    its CPU serves our queries, so it is not "another process" loading the machine."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return pid if _process_ticks(pid) is not None else None


class MachineLoad:
    """CPUs used by other processes than this one (and its database backend) while the
    block ran, from /proc/stat: what decides whether a miss fails or is reported."""

    def __init__(self):
        self.others_cpus: float | None = None

    def __enter__(self):
        self._backend = _database_backend_pid()
        self._start = self._sample()
        return self

    def _sample(self):
        machine = _machine_ticks()
        own = _process_ticks("self")
        backend = _process_ticks(self._backend) if self._backend else 0
        if machine is None or own is None or backend is None:
            return None
        return machine[0], machine[1], own + backend

    def __exit__(self, *exc):
        end = self._sample()
        if self._start is None or end is None:
            return
        busy, total, ours = (after - before for after, before in zip(end, self._start, strict=True))
        cpus = os.cpu_count() or 1
        if total > 0:
            self.others_cpus = max(0.0, (busy - ours) / (total / cpus))


@contextmanager
def production_rendering():
    """Templates render as in production while a page is timed.

    Under test, Django instruments `Template._render` so that the test client can copy
    every rendered template's context into `response.context`; on a board of 400 cards,
    that copying took as long as the page itself. Servers do none of it.
    """
    from django.template import Template
    from django.test.utils import _TestState

    original = getattr(getattr(_TestState, "saved_data", None), "template_render", None)
    instrumented = Template._render
    if original is not None:
        Template._render = original
    try:
        yield
    finally:
        Template._render = instrumented


class Breakdown:
    """Where a request's time goes: SQL (every query, through an execute wrapper) and
    templates (the outermost `Template.render` only, so included templates are not
    counted twice, less the SQL that ran inside it: a lazy queryset evaluated by the
    template is SQL). The rest is "other"."""

    def __init__(self):
        self.sql = 0.0
        self.template = 0.0
        self.queries = 0
        self._rendering = False

    def _execute(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.sql += time.perf_counter() - started
            self.queries += 1

    @contextmanager
    def installed(self):
        from django.template.base import Template

        original = Template.render
        breakdown = self

        def render(template, context):
            if breakdown._rendering:
                return original(template, context)
            breakdown._rendering = True
            started, sql_before = time.perf_counter(), breakdown.sql
            try:
                return original(template, context)
            finally:
                breakdown._rendering = False
                elapsed = time.perf_counter() - started
                breakdown.template += elapsed - (breakdown.sql - sql_before)

        Template.render = render
        try:
            with connection.execute_wrapper(self._execute):
                yield self
        finally:
            Template.render = original


def measure(
    client,
    url: str,
    *,
    name: str,
    params=None,
    runs: int = 30,
    warmup: int = 3,
    headers: dict | None = None,
    content_type: str | None = None,
    target_ms: float | None = None,
) -> Measurement:
    """Median and p95 of `runs` plain requests (nothing instrumented while timed), then a
    third as many again with the SQL and template clocks on, for the shares and the
    query count."""
    with production_rendering():
        return _measure(
            client,
            url,
            name=name,
            params=params,
            runs=runs,
            warmup=warmup,
            headers=headers or {},
            content_type=content_type,
            target_ms=target_ms,
        )


def _get(client, url, params, headers, content_type):
    response = client.get(url, params or {}, headers=headers)
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    assert response.status_code == 200, (url, response.status_code)
    if content_type:
        assert response["Content-Type"].startswith(content_type), response["Content-Type"]
    return response


def _measure(client, url, *, name, params, runs, warmup, headers, content_type, target_ms):
    for _ in range(warmup):
        _get(client, url, params, headers, content_type)
    times, cpu = [], []
    with MachineLoad() as load:
        for _ in range(runs):
            started, started_cpu = time.perf_counter(), time.process_time()
            _get(client, url, params, headers, content_type)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
    total = sql = template = 0.0
    for _ in range(max(3, runs // 3)):
        breakdown = Breakdown()
        with breakdown.installed():
            started = time.perf_counter()
            _get(client, url, params, headers, content_type)
            total += time.perf_counter() - started
        sql += breakdown.sql
        template += breakdown.template
    return Measurement(
        name=name,
        median_ms=statistics.median(times),
        p95_ms=percentile(times, 0.95),
        queries=breakdown.queries,
        cpu_ms=statistics.median(cpu),
        sql_share=sql / total,
        template_share=template / total,
        target_ms=target_ms,
        others_cpus=load.others_cpus,
    )


def record(section: str, row: Measurement, *, baseline: Measurement | None = None) -> Measurement:
    """Add a row to the table `make bench` prints at the end (ratio to `baseline`)."""
    row.section = section
    if baseline is not None and baseline.median_ms:
        row.ratio = row.median_ms / baseline.median_ms
    if row.over_target:
        row.note = "; ".join(filter(None, [row.note, _miss(row)]))
    RESULTS.append(row)
    return row


def _miss(row: Measurement) -> str:
    if row.busy:
        return f"over target, machine busy (other processes used {_cpus(row.others_cpus)})"
    return "over target"


def assert_targets(rows: list[Measurement]) -> None:
    """Rows over their target fail the run, unless the machine was busy while they were
    timed (the table marks those): wall time on a loaded machine measures the machine."""
    misses = [row for row in rows if row.over_target and not row.busy]
    assert not misses, [
        f"{row.name}: {row.median_ms:.1f} ms > {row.target_ms:g} ms "
        f"(other processes: {_cpus(row.others_cpus)})"
        for row in misses
    ]


def _cpus(value: float | None) -> str:
    return "not known" if value is None else f"{value:.2f} CPUs"


def print_table(title: str, rows: list[Measurement], baseline: Measurement | None = None):
    if baseline:
        for row in rows:
            row.ratio = row.median_ms / baseline.median_ms if baseline.median_ms else None
    print(f"\n{title}")
    print(f"{'page':<44} {'median':>8} {'p95':>8} {'queries':>8}  ratio")
    for row in ([baseline] if baseline else []) + rows:
        print(row.row())


def machine(rows: list[Measurement] | None = None) -> str:
    cpus = os.cpu_count() or 1
    load = os.getloadavg()
    model = ""
    try:
        with open("/proc/cpuinfo") as info:
            model = next(
                (line.split(":", 1)[1].strip() for line in info if line.startswith("model name")),
                "",
            )
    except OSError:
        pass
    start = " / ".join(f"{value:.1f}" for value in LOAD_AT_START)
    end = " / ".join(f"{value:.1f}" for value in load)
    text = (
        f"{cpus} CPUs{f' ({model})' if model else ''}; load average (1 / 5 / 15 min) "
        f"{start} before the run, {end} at the end"
    )
    others = [row.others_cpus for row in rows or [] if row.others_cpus is not None]
    if others:
        busy = sum(1 for row in rows if row.busy)
        text += (
            f"; other processes used {statistics.mean(others):.2f} CPUs on average "
            f"(at most {max(others):.2f}) while rows were timed, {busy} of {len(others)} rows "
            f"busy (over {BUSY_CPUS:g} CPUs)"
        )
    return text


def _percent(share: float | None) -> str:
    return f"{share * 100:.0f}" if share is not None else ""


def markdown_table(rows: list[Measurement]) -> str:
    out = [
        "| section | what | median ms | p95 ms | CPU ms | queries | × bare page "
        "| SQL % | templates % | other % | target ms | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        ratio = f"{row.ratio:.1f}" if row.ratio is not None else ""
        queries = str(row.queries) if row.queries is not None else ""
        median = f"{row.median_ms:.1f}" if row.median_ms == row.median_ms else ""
        p95 = f"{row.p95_ms:.1f}" if row.p95_ms == row.p95_ms else ""
        cpu = f"{row.cpu_ms:.1f}" if row.cpu_ms is not None else ""
        other = None
        if row.sql_share is not None and row.template_share is not None:
            other = 1 - row.sql_share - row.template_share
        target = f"{row.target_ms:g}" if row.target_ms is not None else ""
        out.append(
            f"| {row.section} | {row.name} | {median} | {p95} | {cpu} | {queries} | {ratio} "
            f"| {_percent(row.sql_share)} | {_percent(row.template_share)} | {_percent(other)} "
            f"| {target} | {row.note} |"
        )
    return "\n".join(out)
