"""Gunicorn's settings for the web service: the Dockerfile's command and the load bench
(tests/bench/test_bench_load.py) both start `gunicorn -c gunicorn_web.conf.py dealership.wsgi`,
so what is measured is what is deployed. README "Deploying with docker-compose" says how
the numbers were chosen; each can be changed from the environment. (Not named
gunicorn.conf.py: gunicorn reads that from the working folder for every server started
there, and the fault drills and the API fuzz run start their own on purpose.)

- Sync workers, one per CPU plus one: every request is a new connection that the kernel
  hands to whichever worker is free, so no request waits behind a busy worker while another
  is idle, and the one extra worker uses a CPU while another waits for PostgreSQL or Redis
  (which run on the same CPUs). More workers only share the same CPUs: on 2 cores with the
  load bench's 20 users, 3 workers against 5 in eight alternating pairs took less server CPU
  a request in every pair (1.1 ms on average, of 15-18 ms), served more requests a second in
  seven and had the lower p95 in six (README "Deploying"). Threaded workers (gthread) were
  measured against sync ones on 2 cores with the same users: keep-alive connections stay
  with the worker that accepted them, so a busy worker's users waited (p95 2-3 times longer)
  and threads of one process contend for the interpreter (more CPU a request on the heavy
  pages). Behind a TLS proxy (nginx by default) connections to gunicorn are per request
  anyway.
- No `max_requests`: restarting a worker costs a second of CPU and a slow request.
- Each worker (each thread, with threads) keeps its own database connection (CONN_MAX_AGE
  in settings.py): at most workers x threads connections a container.
- What a worker holds after its first requests (the app, compiled templates, translation
  catalogues, URL patterns, about 200 000 objects) lives as long as the worker: it is moved
  out of the garbage collector's scans (`gc.freeze`) after the worker's first and fiftieth
  request. Measured on the load bench's pages in one process: the collector took 2.1 ms of
  a request's 27 ms of CPU, 0.7 ms with the old objects frozen.
"""

import gc
import os


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this container may use
    except AttributeError:
        return os.cpu_count() or 1


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS") or _cpus() + 1)
threads = int(os.environ.get("GUNICORN_THREADS") or 1)
worker_class = "gthread" if threads > 1 else "sync"
keepalive = 5  # with threads: seconds an idle connection stays open (sync workers close it)
timeout = 60
# The access log goes to stdout with personal data masked (dealership/gunicorn_log.py).
accesslog = "-"
logger_class = "dealership.gunicorn_log.MaskingLogger"


FREEZE_AFTER_REQUESTS = {1, 50}


def post_request(worker, req, environ, resp):
    if worker.nr in FREEZE_AFTER_REQUESTS:
        gc.collect()
        gc.freeze()
