from django.urls import path

from . import roster_views, views

app_name = "workshop"

urlpatterns = [
    path("", views.board, name="board"),
    path("visits/<int:pk>/dispatch/", views.dispatch, name="dispatch"),
    path("visits/<int:pk>/", views.visit_detail, name="visit"),
    path("visits/<int:pk>/promise/", views.promise, name="promise"),
    path("visits/<int:pk>/ask-desk/", views.desk_call_ask, name="desk_call_ask"),
    path("desk-calls/<int:pk>/answer/", views.desk_call_answer, name="desk_call_answer"),
    path("my-jobs/", views.my_jobs, name="my_jobs"),
    path("jobs/<int:pk>/clock-on/", views.clock_on, name="clock_on"),
    path("jobs/<int:pk>/pause/", views.pause, name="pause"),
    path("jobs/<int:pk>/clock-off/", views.clock_off, name="clock_off"),
    path("jobs/<int:pk>/finding/", views.finding_new, name="finding_new"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path("findings/<int:pk>/propose/", views.addition_new, name="addition_new"),
    path("additions/<int:pk>/", views.addition_detail, name="addition"),
    path("additions/<int:pk>/answer/", views.addition_answer, name="addition_answer"),
    path("additions/<int:pk>/send-link/", views.addition_send_link, name="addition_send_link"),
    path("additions/<int:pk>/withdraw/", views.addition_withdraw, name="addition_withdraw"),
    path("roster/", roster_views.roster_page, name="roster"),
    path("qc/", views.qc_list, name="qc"),
    path("qc/<int:pk>/", views.qc_inspect, name="qc_inspect"),
    path("approve/<str:token>/", views.approve, name="approve"),
    path("approve/<str:token>/photos/<int:pk>/", views.approve_photo, name="approve_photo"),
]
