import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.scale import seed_year
from demo.steps.appointments import seed_appointments, seed_today_appointments
from demo.steps.delivery import seed_delivery_demo
from demo.steps.followup import seed_followup_demo
from demo.steps.reception import seed_visits
from demo.steps.workshop import seed_workshop_demo
from demo.store import seed_customers, seed_store


class Command(BaseCommand):
    help = "Create a realistic demo store (safe to run twice). --scale N makes N customers."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=int, default=0, help="number of customers to create")

    def handle(self, *args, scale: int, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo refuses to run with DJANGO_ENV=production.")
        started = time.monotonic()
        logins = seed_store()
        customers, vehicles = seed_customers(scale or 300)
        if scale:
            self.stdout.write(f"  customers and vehicles: {time.monotonic() - started:.1f} s")
        seed_appointments()  # idempotent: books only when no appointment from today on exists
        seed_today_appointments()  # today in progress: arrived, no-show, due soon and later
        seed_visits()  # idempotent: checks in 3 demo cars only when there is no visit yet
        # Each step's demo rows, all idempotent: a car in every workshop lane, four cars at the
        # delivery steps, four delivered cars with calls due today, a survey and complaints.
        seed_workshop_demo()
        seed_delivery_demo()
        seed_followup_demo()
        year = {}
        if scale:
            # A busy store's year on top: 0.8 visits per customer (40 000 for 50 000).
            year = seed_year(scale * 4 // 5, log=self.stdout.write)
        self.stdout.write(
            f"Demo store ready: {customers} new customers, {vehicles} new vehicles "
            f"in {time.monotonic() - started:.1f} s."
        )
        if year:
            self.stdout.write(
                "A year of visits: " + ", ".join(f"{n} {what}" for what, n in year.items()) + "."
            )
        self.stdout.write("Log-ins (username / password / role):")
        for username, password, role in logins:
            self.stdout.write(f"  {username:<12} {password:<12} {role}")
