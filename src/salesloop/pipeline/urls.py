from django.urls import path

app_name = "pipeline"
urlpatterns: list = []
