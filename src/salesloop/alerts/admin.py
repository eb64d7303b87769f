from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from salesloop.alerts.cron import CronError
from salesloop.alerts.models import (
    Alert,
    AlertRule,
    Channel,
    Delivery,
    Notification,
    NotificationPreference,
    Report,
    Schedule,
    ScheduleRun,
)
from salesloop.alerts.scheduler import company_tz, schedule_validate


class ScheduleForm(forms.ModelForm):
    class Meta:
        model = Schedule
        fields = ["name", "job", "cron", "enabled", "kwargs"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("cron") and data.get("job"):
            try:
                schedule_validate(cron=data["cron"], job=data["job"])
            except CronError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return data


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    form = ScheduleForm
    list_display = ("name", "job", "cron", "enabled", "next_run_at", "last_error")
    list_editable = ("cron", "enabled")
    readonly_fields = ("next_run_at", "last_error")

    def save_model(self, request: Any, obj: Schedule, form: Any, change: bool) -> None:
        # the next firing follows the (new) expression
        from django.utils import timezone

        obj.next_run_at = schedule_validate(cron=obj.cron, job=obj.job).next_after(
            timezone.now(), company_tz()
        )
        obj.last_error = ""
        super().save_model(request, obj, form, change)


@admin.register(ScheduleRun)
class ScheduleRunAdmin(admin.ModelAdmin):
    list_display = ("schedule", "due_at", "status", "started_at", "finished_at", "worker")
    list_filter = ("status", "schedule")
    readonly_fields = [f.name for f in ScheduleRun._meta.fields]

    def has_add_permission(self, request: Any) -> bool:
        return False


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ("key", "enabled", "severity", "params", "updated_at")
    list_editable = ("enabled", "severity")
    readonly_fields = ("key",)

    def has_add_permission(self, request: Any) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "rule",
        "severity",
        "status",
        "owner",
        "unit",
        "opened_at",
        "resolved_at",
    )
    list_filter = ("status", "rule", "severity")
    search_fields = ("title",)
    readonly_fields = [f.name for f in Alert._meta.fields]


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "unit", "alerts", "reports", "enabled")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "subject",
        "channel",
        "address",
        "webhook",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
    )
    list_filter = ("status", "channel")
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["retry"]

    @admin.action(description=_("Retry now"))
    def retry(self, request: Any, queryset: Any) -> None:
        from django.utils import timezone

        queryset.update(status="pending", attempts=0, next_attempt_at=timezone.now())


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "recipient", "period_start", "created_at")
    list_filter = ("kind",)
    exclude = ("html", "text", "data")


admin.site.register(Notification)
admin.site.register(NotificationPreference)
