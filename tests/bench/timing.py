"""Server-time measurement for the benchmarks, and the one table `make bench` prints.

`measure` runs a page through the in-process test client against the real database
(server time: URL routing, middleware, view, queries, template; no network).
`record` adds a row to the session's table; tests/bench/conftest.py prints the table at
the end of the run and writes it to $VAR_DIR/bench/table.md.
"""

import os
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection
from django.test.utils import CaptureQueriesContext


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

    def row(self) -> str:
        ratio = f"{self.ratio:5.1f}x" if self.ratio is not None else "   - "
        queries = f"{self.queries:8d}" if self.queries is not None else "       -"
        return f"{self.name:<44} {self.median_ms:8.1f} {self.p95_ms:8.1f} {queries}  {ratio}"


RESULTS: list[Measurement] = []
BASELINE: dict[str, Measurement] = {}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(len(ordered) * fraction)) - 1)]


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
) -> Measurement:
    with production_rendering():
        return _measure(
            client,
            url,
            name=name,
            params=params,
            runs=runs,
            warmup=warmup,
            headers=headers,
            content_type=content_type,
        )


def _measure(client, url, *, name, params, runs, warmup, headers, content_type) -> Measurement:
    headers = headers or {}
    for _ in range(warmup):
        client.get(url, params or {}, headers=headers)
    times, cpu = [], []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url, params or {}, headers=headers)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        if content_type:
            assert response["Content-Type"].startswith(content_type), response["Content-Type"]
    return Measurement(
        name=name,
        median_ms=statistics.median(times),
        p95_ms=percentile(times, 0.95),
        queries=len(queries.captured_queries),
        cpu_ms=statistics.median(cpu),
    )


def record(section: str, row: Measurement, *, baseline: Measurement | None = None) -> Measurement:
    """Add a row to the table `make bench` prints at the end (ratio to `baseline`)."""
    row.section = section
    if baseline is not None and baseline.median_ms:
        row.ratio = row.median_ms / baseline.median_ms
    RESULTS.append(row)
    return row


def print_table(title: str, rows: list[Measurement], baseline: Measurement | None = None):
    if baseline:
        for row in rows:
            row.ratio = row.median_ms / baseline.median_ms if baseline.median_ms else None
    print(f"\n{title}")
    print(f"{'page':<44} {'median':>8} {'p95':>8} {'queries':>8}  ratio")
    for row in ([baseline] if baseline else []) + rows:
        print(row.row())


def machine() -> str:
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
    return (
        f"{cpus} CPUs{f' ({model})' if model else ''}, load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min) at the end"
    )


def markdown_table(rows: list[Measurement]) -> str:
    out = [
        "| section | what | median ms | p95 ms | CPU ms | queries | × bare page | note |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        ratio = f"{row.ratio:.1f}" if row.ratio is not None else ""
        queries = str(row.queries) if row.queries is not None else ""
        median = f"{row.median_ms:.1f}" if row.median_ms == row.median_ms else ""
        p95 = f"{row.p95_ms:.1f}" if row.p95_ms == row.p95_ms else ""
        cpu = f"{row.cpu_ms:.1f}" if row.cpu_ms is not None else ""
        out.append(
            f"| {row.section} | {row.name} | {median} | {p95} | {cpu} | {queries} | {ratio} "
            f"| {row.note} |"
        )
    return "\n".join(out)
