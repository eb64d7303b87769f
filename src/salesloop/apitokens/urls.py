from django.urls import path

from salesloop.apitokens import views

app_name = "apitokens"
urlpatterns = [
    path("", views.token_list_view, name="list"),
    path("<int:pk>/revoke/", views.token_revoke_view, name="revoke"),
]
