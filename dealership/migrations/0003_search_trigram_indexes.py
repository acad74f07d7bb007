"""Trigram indexes so fragment search (LIKE '%x%') stays fast on a year of data.

PostgreSQL only; on the embedded SQLite the tables are small and it scans.
"""

from django.db import migrations

INDEXES = [
    ("dealership_vehicle_plate_trgm", "dealership_vehicle", "plate"),
    ("dealership_vehicle_vin_trgm", "dealership_vehicle", "vin"),
    ("dealership_customer_mobile_trgm", "dealership_customer", "mobile"),
    ("dealership_customer_mobile_alt_trgm", "dealership_customer", "mobile_alt"),
    ("dealership_customer_name_trgm", "dealership_customer", "UPPER(name::text)"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, expression in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (({expression}) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expression in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("dealership", "0002_roles")]

    operations = [migrations.RunPython(create, drop)]
