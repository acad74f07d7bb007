from django.db import migrations


def create_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name="claims_clerk")


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="claims_clerk").delete()


class Migration(migrations.Migration):
    """The claims clerk's role (索赔员, issue 16.3)."""

    dependencies = [("dealership", "0011_reports_move_out")]

    operations = [migrations.RunPython(create_group, remove_group)]
