"""Server time of one staff page in a plain Django process (no pytest), for profiling.

    URL=/due/ ROLE=customer_care N=30 \
        .venv/bin/python manage.py shell -c "$(cat scripts/page_time.py)"

Logs in the first user of ROLE through the test client (no network), warms up, then
prints the median wall and CPU time of N requests and the query count. PROFILE=1 adds
a cProfile listing (SORT=tottime|cumulative, LINES=30). Runs against DATABASE_URL, e.g.
a database filled by `manage.py seed_demo --scale 50000`. Under pytest the same request
costs about twice the CPU (see README "How fast"); this is the plain-process figure.
"""

import cProfile
import os
import pstats
import statistics
import time

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dealership.models import User

settings.ALLOWED_HOSTS = ["*"]
url, role, runs = os.environ["URL"], os.environ.get("ROLE", "advisor"), int(os.environ.get("N", 30))
client = Client()
client.force_login(User.objects.filter(groups__name=role, is_active=True).order_by("id").first())
for _ in range(3):
    response = client.get(url)
assert response.status_code == 200, response.status_code
wall, cpu = [], []
for _ in range(runs):
    started, started_cpu = time.perf_counter(), time.process_time()
    client.get(url)
    wall.append((time.perf_counter() - started) * 1000)
    cpu.append((time.process_time() - started_cpu) * 1000)
with CaptureQueriesContext(connection) as queries:
    client.get(url)
print(
    f"{url} as {role}: median {statistics.median(wall):.1f} ms, "
    f"CPU {statistics.median(cpu):.1f} ms, {len(queries)} queries, {len(response.content)} bytes"
)
if os.environ.get("PROFILE"):
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(5):
        client.get(url)
    profile.disable()
    stats = pstats.Stats(profile).sort_stats(os.environ.get("SORT", "tottime"))
    stats.print_stats(int(os.environ.get("LINES", 30)))
