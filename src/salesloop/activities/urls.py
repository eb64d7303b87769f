from django.urls import path

from salesloop.activities import views

app_name = "activities"
urlpatterns = [
    path("log/", views.activity_log_view, name="log"),
    path("follow-ups/", views.followups_view, name="followups"),
    path("<int:pk>/done/", views.follow_up_done_view, name="done"),
]
