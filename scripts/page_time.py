"""Server time of one staff page in a plain Django process (no pytest), for profiling.

    URL=/due/ ROLE=customer_care N=30 \
        .venv/bin/python manage.py shell -c "$(cat scripts/page_time.py)"

Logs in the first user of ROLE through the test client (no network) and times the page
with the benchmark's own code (tests/bench/timing.py `measure`: warm-up, N plain timed
requests, then the SQL and template shares from a third as many instrumented ones), so
the figures compare with a `make bench` row. PROFILE=1 adds a cProfile listing
(SORT=tottime|cumulative, LINES=30). Runs against DATABASE_URL, e.g. a database filled
by `manage.py seed_demo --scale 50000`.
"""

import cProfile
import os
import pstats

from django.conf import settings
from django.test import Client

from dealership.models import User
from tests.bench.timing import measure

settings.ALLOWED_HOSTS = ["*"]
url, role, runs = os.environ["URL"], os.environ.get("ROLE", "advisor"), int(os.environ.get("N", 30))
client = Client()
client.force_login(User.objects.filter(groups__name=role, is_active=True).order_by("id").first())
row = measure(client, url, name=url, runs=runs)
others = "not known" if row.others_cpus is None else f"{row.others_cpus:.2f} CPUs"
print(
    f"{url} as {role}: median {row.median_ms:.1f} ms (p95 {row.p95_ms:.1f}), "
    f"CPU {row.cpu_ms:.1f} ms, {row.queries} queries; SQL {row.sql_share:.0%}, "
    f"templates {row.template_share:.0%}, other {1 - row.sql_share - row.template_share:.0%}; "
    f"other processes used {others} meanwhile"
)
if os.environ.get("PROFILE"):
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(5):
        client.get(url)
    profile.disable()
    stats = pstats.Stats(profile).sort_stats(os.environ.get("SORT", "tottime"))
    stats.print_stats(int(os.environ.get("LINES", 30)))
