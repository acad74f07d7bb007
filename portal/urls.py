from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-in/code/", views.sign_in_code, name="sign_in_code"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("link/<str:token>/", views.link, name="link"),
    path("send-link/<int:pk>/", views.send_link, name="send_link"),
    path("cars/<int:pk>/", views.vehicle, name="vehicle"),
    path("cars/<int:pk>/book/", views.book, name="book"),
    path("bookings/<int:pk>/manage/", views.appointment_manage, name="appointment_manage"),
    path("visits/<int:pk>/", views.visit, name="visit"),
    path(
        "visits/<int:pk>/additions/<int:addition_pk>/answer/",
        views.addition_answer,
        name="addition_answer",
    ),
    path("visits/<int:pk>/documents/<slug:kind>/", views.document, name="document"),
    path("visits/<int:pk>/survey/", views.survey, name="survey"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path("complaints/", views.complaints, name="complaints"),
]
