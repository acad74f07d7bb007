"""Admin views are for looking: orders change only through the services (signed ones never)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import WorkOrder, WorkOrderLine


class LineInline(admin.TabularInline):
    model = WorkOrderLine
    extra = 0
    can_delete = False
    fields = ["position", "kind", "code", "name_zh", "quantity", "unit_price", "discount_percent"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WorkOrder)
class WorkOrderAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "status", "estimate_total", "signed_at"]
    list_filter = ["status", "pricing_method"]
    search_fields = ["visit__number", "visit__vehicle__plate"]
    inlines = [LineInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
