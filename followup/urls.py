from django.urls import path

from . import enquiry_views, views

app_name = "followup"

urlpatterns = [
    path("calls/", views.calls, name="calls"),
    path("calls/<slug:slug>/", views.call_list, name="call_list"),
    path("call/<int:pk>/", views.call, name="call"),
    path("call/<int:pk>/not-reached/", views.call_not_reached, name="call_not_reached"),
    path("enquiries/", enquiry_views.enquiry_list, name="enquiries"),
    path("enquiries/<int:pk>/", enquiry_views.enquiry_detail, name="enquiry"),
    path("complaints/", views.complaints, name="complaints"),
    path("complaints/new/", views.complaint_new, name="complaint_new"),
    path("complaints/<int:pk>/", views.complaint, name="complaint"),
    path("complaints/<int:pk>/act/", views.complaint_act, name="complaint_act"),
    path("complaints/<int:pk>/assign/", views.complaint_assign, name="complaint_assign"),
    path("complaints/<int:pk>/edit/", views.complaint_edit, name="complaint_edit"),
    path("complaints/<int:pk>/close/", views.complaint_close, name="complaint_close"),
    path("complaints/<int:pk>/reopen/", views.complaint_reopen, name="complaint_reopen"),
    path("archive/customer/<int:pk>/", views.customer_archive, name="customer_archive"),
    path("archive/vehicle/<int:pk>/", views.vehicle_archive, name="vehicle_archive"),
    path("archive/customer/<int:pk>/opt-out/", views.customer_opt_out, name="customer_opt_out"),
]
