"""The report models move to the `reports` app: removed from this app's state only.

The tables stay as they are (reports.0001_initial takes them over under their old names).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("dealership", "0010_merge_helpers"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="HistoricalReportTarget"),
                migrations.DeleteModel(name="ReportDelivery"),
                migrations.DeleteModel(name="ReportTarget"),
            ],
            database_operations=[],
        ),
    ]
