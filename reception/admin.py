"""Admin views are for looking: a visit's status moves only through the services."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Belonging, DamageMark, DeclinedWork, Visit, VisitTransition


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DamageMarkInline(ReadOnlyInline):
    model = DamageMark
    fields = ["kind", "x", "y", "note", "photo"]


class BelongingInline(ReadOnlyInline):
    model = Belonging
    fields = ["description", "is_valuable", "handling"]


class TransitionInline(ReadOnlyInline):
    model = VisitTransition
    fields = ["at", "from_status", "to_status", "actor", "reason"]


@admin.register(Visit)
class VisitAdmin(SimpleHistoryAdmin):
    list_display = ["number", "status", "vehicle", "customer", "advisor", "checked_in_at"]
    list_filter = ["status", "is_walk_in", "is_comeback"]
    search_fields = ["number", "vehicle__plate", "vehicle__vin", "customer__name"]
    inlines = [DamageMarkInline, BelongingInline, TransitionInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DeclinedWork)
class DeclinedWorkAdmin(SimpleHistoryAdmin):
    list_display = ["description", "vehicle", "estimated_amount", "declined_at", "done_at"]
    search_fields = ["vehicle__plate", "description"]
    raw_id_fields = ["vehicle", "visit"]
