from django.urls import path

from salesloop.targets import views

app_name = "targets"
urlpatterns = [
    path("", views.plans_view, name="plans"),
    path("new/", views.plan_create_view, name="plan_create"),
    path("mine/", views.my_targets_view, name="mine"),
    path("plans/<int:pk>/", views.plan_view, name="plan"),
    path("plans/<int:pk>/recompute/", views.plan_recompute_view, name="recompute"),
    path("plans/<int:pk>/runs/<int:run_id>/", views.plan_run_view, name="run"),
    path("plans/<int:pk>/transition/", views.plan_transition_view, name="transition"),
    path("plans/<int:pk>/reconcile/", views.reconcile_view, name="reconcile"),
    path("plans/<int:pk>/ask/", views.proposals_request_view, name="ask"),
    path("plans/<int:pk>/accept/", views.proposals_accept_view, name="accept_within"),
    path("plans/<int:pk>/reconcile.xlsx", views.reconcile_export_view, name="reconcile_export"),
    path("plans/<int:pk>/history/", views.history_view, name="history"),
    path("plans/<int:pk>/compare/", views.compare_view, name="compare"),
    path("plans/<int:pk>/compare.xlsx", views.compare_export_view, name="compare_export"),
    path("members/<int:pk>/move/", views.member_move_view, name="move"),
    path("plans/<int:pk>/export.xlsx", views.plan_export_view, name="export"),
    path("plans/<int:pk>/import/", views.plan_import_view, name="import"),
    path("plans/<int:pk>/import/apply/", views.plan_import_apply_view, name="import_apply"),
    path("plans/<int:pk>/imports/<int:job_id>/", views.plan_import_job_view, name="import_job"),
    path("t/<int:pk>/save/", views.target_save_view, name="save"),
    path("t/<int:pk>/method/", views.target_method_view, name="method"),
    path("t/<int:pk>/split/", views.target_split_view, name="split"),
    path("t/<int:pk>/take-sum/", views.target_take_sum_view, name="take_sum"),
    path("t/<int:pk>/months/", views.target_months_view, name="months"),
    path("t/<int:pk>/propose/", views.proposal_create_view, name="propose"),
    path("proposals/<int:pk>/decide/", views.proposal_decide_view, name="decide"),
]
