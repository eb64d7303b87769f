from django.contrib import admin
from django.urls import include, path

from salesloop.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("salesloop.web.urls")),
    path("customers/", include("salesloop.customers.urls")),
    path("opportunities/", include("salesloop.pipeline.urls")),
    path("activities/", include("salesloop.activities.urls")),
    path("data/", include("salesloop.dataio.urls")),
    path("targets/", include("salesloop.targets.urls")),
    path("dashboard/", include("salesloop.insights.urls")),
    path("alerts/", include("salesloop.alerts.urls")),
    path("api/", api.urls),
    path("settings/tokens/", include("salesloop.apitokens.urls")),
]
