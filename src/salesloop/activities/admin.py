from django.contrib import admin

from salesloop.activities.models import Activity


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = (
        "subject",
        "kind",
        "owner",
        "customer",
        "occurred_at",
        "outcome",
        "follow_up_due",
    )
    list_filter = ("kind", "outcome")
    search_fields = ("subject", "customer__name")
    raw_id_fields = ("owner", "customer", "opportunity")
    date_hierarchy = "occurred_at"
