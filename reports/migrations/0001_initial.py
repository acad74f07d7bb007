"""The report models, taken over from `dealership` with their tables (no data moves).

The content types are renamed too, so the due tasks whose subject is a report delivery,
and any permission given on these models, keep pointing at them.
"""

import django.db.models.deletion
import django.utils.timezone
import simple_history.models
from django.conf import settings
from django.db import migrations, models

MODELS = ("reporttarget", "historicalreporttarget", "reportdelivery")


def _relabel(apps, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if not ContentType.objects.filter(app_label=new, model=model).exists():
            ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


def content_types_to_reports(apps, schema_editor):
    _relabel(apps, "dealership", "reports")


def content_types_to_dealership(apps, schema_editor):
    _relabel(apps, "reports", "dealership")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("dealership", "0011_reports_move_out"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="HistoricalReportTarget",
                    fields=[
                        (
                            "id",
                            models.BigIntegerField(
                                auto_created=True, blank=True, db_index=True, verbose_name="ID"
                            ),
                        ),
                        (
                            "month",
                            models.DateField(help_text="The first day of the month.", verbose_name="month"),
                        ),
                        ("figure", models.CharField(max_length=40, verbose_name="figure")),
                        (
                            "value",
                            models.DecimalField(decimal_places=2, max_digits=14, verbose_name="target"),
                        ),
                        (
                            "updated_at",
                            models.DateTimeField(default=django.utils.timezone.now, verbose_name="updated"),
                        ),
                        ("history_id", models.AutoField(primary_key=True, serialize=False)),
                        ("history_date", models.DateTimeField(db_index=True)),
                        ("history_change_reason", models.CharField(max_length=100, null=True)),
                        (
                            "history_type",
                            models.CharField(
                                choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                            ),
                        ),
                        (
                            "history_user",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "updated_by",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "dealership_historicalreporttarget",
                        "verbose_name": "historical report target",
                        "verbose_name_plural": "historical report targets",
                        "ordering": ("-history_date", "-history_id"),
                        "get_latest_by": ("history_date", "history_id"),
                    },
                    bases=(simple_history.models.HistoricalChanges, models.Model),
                ),
                migrations.CreateModel(
                    name="ReportDelivery",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("kind", models.CharField(max_length=10, verbose_name="report")),
                        ("first", models.DateField(verbose_name="from")),
                        ("last", models.DateField(verbose_name="to")),
                        ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="sent at")),
                        ("recipients", models.JSONField(blank=True, default=list, verbose_name="sent to")),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={
                        "db_table": "dealership_reportdelivery",
                        "verbose_name": "report delivery",
                        "verbose_name_plural": "report deliveries",
                        "ordering": ["-first", "kind"],
                        "constraints": [
                            models.UniqueConstraint(fields=("kind", "first"), name="report_delivery_once")
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="ReportTarget",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "month",
                            models.DateField(help_text="The first day of the month.", verbose_name="month"),
                        ),
                        ("figure", models.CharField(max_length=40, verbose_name="figure")),
                        (
                            "value",
                            models.DecimalField(decimal_places=2, max_digits=14, verbose_name="target"),
                        ),
                        (
                            "updated_at",
                            models.DateTimeField(default=django.utils.timezone.now, verbose_name="updated"),
                        ),
                        (
                            "updated_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "dealership_reporttarget",
                        "verbose_name": "report target",
                        "verbose_name_plural": "report targets",
                        "ordering": ["-month", "figure"],
                        "constraints": [
                            models.UniqueConstraint(fields=("month", "figure"), name="report_target_once")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_reports, content_types_to_dealership),
    ]
