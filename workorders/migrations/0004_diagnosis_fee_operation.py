"""Seed the diagnosis fee (rule `workorders.diagnosis_fee_operation`) in the catalogue."""

from decimal import Decimal

from django.db import migrations

CODE = "ZD-FEE"


def seed(apps, schema_editor):
    LabourOperation = apps.get_model("dealership", "LabourOperation")
    LabourOperation.objects.get_or_create(
        code=CODE,
        defaults={
            "name_zh": "故障诊断费",
            "name_en": "Diagnosis fee",
            "work_type": "repair",
            "standard_hours": Decimal("0"),
            "price": Decimal("150.00"),
            # Billed only by the not-repaired action: never offered as labour on an order.
            "active": False,
        },
    )


def unseed(apps, schema_editor):
    LabourOperation = apps.get_model("dealership", "LabourOperation")
    LabourOperation.objects.filter(code=CODE).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("workorders", "0003_merge_helpers"),
        ("dealership", "0011_reports_move_out"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
