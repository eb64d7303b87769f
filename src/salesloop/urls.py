from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("salesloop.web.urls")),
    path("customers/", include("salesloop.customers.urls")),
    path("opportunities/", include("salesloop.pipeline.urls")),
    path("activities/", include("salesloop.activities.urls")),
]
