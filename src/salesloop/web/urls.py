from django.contrib.auth import views as auth_views
from django.urls import path

from salesloop.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.SalesloopLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", views.set_language, name="set_language"),
    path("healthz", views.healthz, name="healthz"),
]
