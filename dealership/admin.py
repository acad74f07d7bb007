from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    ApiToken,
    Bay,
    Customer,
    DueTask,
    LabourOperation,
    MaintenancePlan,
    MaintenancePlanPart,
    Message,
    Part,
    StoreRule,
    Technician,
    User,
    Vehicle,
)
from .security import ThrottledAdminAuthenticationForm

# The admin's log-in is throttled like the app's (django-axes) and says so when locked.
admin.site.login_form = ThrottledAdminAuthenticationForm
admin.site.register(User, UserAdmin)


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin):
    list_display = ["name", "mobile", "company", "created_at"]
    search_fields = ["name", "mobile"]


@admin.register(Vehicle)
class VehicleAdmin(SimpleHistoryAdmin):
    list_display = ["plate", "vin", "model", "owner"]
    search_fields = ["plate", "vin"]
    raw_id_fields = ["owner"]


@admin.register(Technician)
class TechnicianAdmin(SimpleHistoryAdmin):
    list_display = ["name", "team", "skill_level", "work_type", "hours_per_day", "active"]


@admin.register(Bay)
class BayAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "work_type", "active"]


@admin.register(LabourOperation)
class LabourOperationAdmin(SimpleHistoryAdmin):
    list_display = [
        "code",
        "name_zh",
        "name_en",
        "work_type",
        "standard_hours",
        "required_skill",
        "price",
    ]
    search_fields = ["code", "name_zh", "name_en"]


@admin.register(Part)
class PartAdmin(SimpleHistoryAdmin):
    list_display = ["part_number", "name_zh", "name_en", "price", "stock_on_hand"]
    search_fields = ["part_number", "name_zh", "name_en"]


class MaintenancePlanPartInline(admin.TabularInline):
    model = MaintenancePlanPart
    extra = 0


@admin.register(MaintenancePlan)
class MaintenancePlanAdmin(SimpleHistoryAdmin):
    list_display = ["name_zh", "interval_km", "interval_months"]
    inlines = [MaintenancePlanPartInline]


@admin.register(StoreRule)
class StoreRuleAdmin(SimpleHistoryAdmin):
    list_display = ["key", "value", "updated_at"]


class RecordAdmin(admin.ModelAdmin):
    """Records written only by the code: every field shown read-only, none added or deleted."""

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DueTask)
class DueTaskAdmin(RecordAdmin):
    """Read-only: due tasks change state only through `dealership.due` (ops page: retry)."""

    list_display = ["kind", "due_at", "state", "attempts", "customer", "role", "assigned_to"]
    list_filter = ["state", "for_person", "kind"]
    search_fields = ["kind", "customer__name", "customer__mobile"]
    date_hierarchy = "due_at"


@admin.register(Message)
class MessageAdmin(RecordAdmin):
    """Messages as sent; never edited."""

    list_display = ["sent_at", "channel", "to", "status", "template", "customer"]
    list_filter = ["channel", "status", "template"]
    search_fields = ["to", "body", "customer__name"]
    date_hierarchy = "sent_at"


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Every user's API tokens (issue 18.2): the administrator sees and revokes them, e.g. an
    integration account's. Keys are issued on the account page or by `api_token_issue`."""

    list_display = [
        "name",
        "user",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["user", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
    fields = ["name", *readonly_fields]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        queryset.filter(revoked_at=None).update(revoked_at=timezone.now())
