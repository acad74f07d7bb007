"""Gunicorn's settings for the web service: the Dockerfile's command and the load bench
(tests/bench/test_bench_load.py) both start `gunicorn -c gunicorn.conf.py dealership.wsgi`,
so what is measured is what is deployed. README "Deploying with docker-compose" says how
the numbers were chosen. Each can be changed from the environment.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "5"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = 60
# The access log goes to stdout with personal data masked (dealership/gunicorn_log.py).
accesslog = "-"
logger_class = "dealership.gunicorn_log.MaskingLogger"
