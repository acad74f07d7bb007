from django.urls import path

from . import views

app_name = "appointments"

urlpatterns = [
    path("", views.board, name="board"),
    path("new/", views.new, name="new"),
    path("new/customer/", views.quick_customer, name="quick_customer"),
    path("new/preview/", views.preview, name="preview"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/confirm/", views.confirm, name="confirm"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/reschedule/", views.reschedule, name="reschedule"),
    path("<int:pk>/deposit/", views.deposit, name="deposit"),
    path("deposits/<int:pk>/receipt.pdf", views.deposit_receipt, name="deposit_receipt"),
    path("deposits/<int:pk>/refund/", views.deposit_refund, name="deposit_refund"),
    path("<int:pk>/parts-received/", views.parts_received, name="parts_received"),
    path("calls/", views.calls, name="calls"),
    path("calls/<int:task_pk>/", views.call_outcome, name="call_outcome"),
    path("opening-hours/", views.opening_hours, name="opening_hours"),
    path("holidays/", views.holiday_add, name="holiday_add"),
    path("holidays/<int:pk>/delete/", views.holiday_remove, name="holiday_remove"),
    path("campaigns/", views.campaigns, name="campaigns"),
    path("campaigns/new/", views.campaign_edit, name="campaign_new"),
    path("campaigns/<int:pk>/", views.campaign_edit, name="campaign_edit"),
    # Customers: no log-in.
    path("book/", views.self_book, name="self_book"),
    path("book/slots/", views.self_book_slots, name="self_book_slots"),
    path("my/<str:token>/", views.manage, name="manage"),
    path("my/<str:token>/slots/", views.manage_slots, name="manage_slots"),
]
