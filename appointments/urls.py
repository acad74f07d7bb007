from django.urls import path

from .views import recalls, self_service, settings, staff

app_name = "appointments"

urlpatterns = [
    path("", staff.board, name="board"),
    path("new/", staff.new, name="new"),
    path("new/customer/", staff.quick_customer, name="quick_customer"),
    path("new/preview/", staff.preview, name="preview"),
    path("<int:pk>/", staff.detail, name="detail"),
    path("<int:pk>/confirm/", staff.confirm, name="confirm"),
    path("<int:pk>/cancel/", staff.cancel, name="cancel"),
    path("<int:pk>/reschedule/", staff.reschedule, name="reschedule"),
    path("<int:pk>/deposit/", staff.deposit, name="deposit"),
    path("deposits/<int:pk>/receipt.pdf", staff.deposit_receipt, name="deposit_receipt"),
    path("deposits/<int:pk>/refund/", staff.deposit_refund, name="deposit_refund"),
    path("<int:pk>/parts-received/", staff.parts_received, name="parts_received"),
    path("calls/", staff.calls, name="calls"),
    path("calls/<int:task_pk>/", staff.call_outcome, name="call_outcome"),
    path("opening-hours/", settings.opening_hours, name="opening_hours"),
    path("holidays/", settings.holiday_add, name="holiday_add"),
    path("holidays/<int:pk>/delete/", settings.holiday_remove, name="holiday_remove"),
    path("campaigns/", settings.campaigns, name="campaigns"),
    path("campaigns/new/", settings.campaign_edit, name="campaign_new"),
    path("campaigns/<int:pk>/", settings.campaign_edit, name="campaign_edit"),
    path("campaigns/<int:pk>/notify/", settings.campaign_notify, name="campaign_notify"),
    path("campaigns/<int:pk>/vins/", recalls.campaign_vins, name="campaign_vins"),
    path("campaigns/<int:pk>/vins/import/", recalls.recall_import, name="recall_import"),
    path("recall-imports/<int:pk>/", recalls.recall_import_preview, name="recall_import_preview"),
    path(
        "recall-imports/<int:pk>/confirm/",
        recalls.recall_import_confirm,
        name="recall_import_confirm",
    ),
    # Customers: no log-in.
    path("book/", self_service.self_book, name="self_book"),
    path("book/slots/", self_service.self_book_slots, name="self_book_slots"),
    path("my/<str:token>/", self_service.manage, name="manage"),
    path("my/<str:token>/slots/", self_service.manage_slots, name="manage_slots"),
]
