from django.urls import path

from salesloop.pipeline import views

app_name = "pipeline"
urlpatterns = [
    path("", views.opportunity_list_view, name="list"),
    path("board/", views.board_view, name="board"),
    path("board/stages/<int:pk>/more/", views.board_more_view, name="board_more"),
    path("new/", views.opportunity_create_view, name="create"),
    path("<int:pk>/", views.opportunity_detail_view, name="detail"),
    path("<int:pk>/edit/", views.opportunity_edit_view, name="edit"),
    path("<int:pk>/move/", views.opportunity_move_view, name="move"),
]
