from django.urls import path

from salesloop.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list_view, name="list"),
    path("new/", views.customer_create_view, name="create"),
    path("search/", views.customer_search_view, name="search"),
    path("totals/", views.customer_totals_view, name="totals"),
    path("<int:pk>/", views.customer_detail_view, name="detail"),
    path("<int:pk>/edit/", views.customer_edit_view, name="edit"),
    path("<int:pk>/contacts/", views.contact_create_view, name="contact_create"),
]
