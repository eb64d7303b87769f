from django.urls import path

from salesloop.alerts import views

app_name = "alerts"
urlpatterns = [
    path("", views.inbox_view, name="inbox"),
    path("notifications/<int:pk>/", views.notification_open_view, name="open"),
    path("notifications/<int:pk>/read/", views.notification_read_view, name="read"),
    path("notifications/read-all/", views.notification_read_all_view, name="read_all"),
    path("preferences/", views.preferences_view, name="preferences"),
    path("reports/", views.report_list_view, name="reports"),
    path("reports/<int:pk>/", views.report_view, name="report"),
    path("reports/<int:pk>/xlsx/", views.report_xlsx_view, name="report_xlsx"),
    path("rules/", views.rules_view, name="rules"),
    path("rules/<slug:key>/", views.rule_edit_view, name="rule_edit"),
]
