"""Gunicorn's settings for the web service: the Dockerfile's command and the load bench
(tests/bench/test_bench_load.py) both start `gunicorn -c gunicorn_web.conf.py dealership.wsgi`,
so what is measured is what is deployed. README "Deploying with docker-compose" says how
the numbers were chosen; each can be changed from the environment. (Not named
gunicorn.conf.py: gunicorn reads that from the working folder for every server started
there, and the fault drills and the API fuzz run start their own on purpose.)

- Threaded workers (gthread), two per CPU with two threads each: a thread waiting for
  PostgreSQL or Redis leaves the CPU to another request, and a connection stays open
  between requests (keep-alive), where a sync worker answers one request per connection
  and closes it. Measured on 2 cores: about 1 ms less CPU a request than 5 sync workers.
- No `max_requests`: restarting a worker costs a second of CPU and a slow request.
- Each thread keeps its own database connection (CONN_MAX_AGE in settings.py): at most
  workers x threads connections a container.
"""

import os


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this container may use
    except AttributeError:
        return os.cpu_count() or 1


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS") or 2 * _cpus())
threads = int(os.environ.get("GUNICORN_THREADS") or 2)
worker_class = "gthread" if threads > 1 else "sync"
keepalive = 5  # seconds an idle connection (a browser's, or the proxy's) stays open
timeout = 60
# The access log goes to stdout with personal data masked (dealership/gunicorn_log.py).
accesslog = "-"
logger_class = "dealership.gunicorn_log.MaskingLogger"
