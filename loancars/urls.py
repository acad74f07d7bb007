from django.urls import path

from . import views

app_name = "loancars"

urlpatterns = [
    path("", views.loans, name="loans"),
    path("fleet/", views.fleet, name="fleet"),
    path("fleet/<int:pk>/", views.car_edit, name="car_edit"),
    path("book/<int:appointment_pk>/", views.book, name="book"),
    path("visit/<int:visit_pk>/check-out/", views.check_out, name="check_out"),
    path("<int:pk>/", views.loan_detail, name="loan"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/signature.png", views.agreement_signature, name="signature"),
    path("photos/<int:pk>/", views.photo, name="photo"),
]
