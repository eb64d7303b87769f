from django.urls import path

from salesloop.dataio import views

app_name = "dataio"
urlpatterns = [
    path("import/", views.import_start_view, name="import"),
    path("import/<int:pk>/", views.import_job_view, name="job"),
    path("import/<int:pk>/mapping/", views.import_mapping_view, name="mapping"),
    path("import/<int:pk>/progress/", views.import_progress_view, name="progress"),
    path("import/<int:pk>/run/", views.import_run_view, name="run"),
    path("import/<int:pk>/rejected/", views.import_rejects_view, name="rejects"),
    path("export/", views.export_view, name="export"),
]
