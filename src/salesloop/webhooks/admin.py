from django.contrib import admin

from salesloop.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "is_active", "created_at")
    list_filter = ("is_active",)
    readonly_fields = ("secret", "created_by")
    fields = ("name", "url", "events", "is_active", "secret", "created_by")


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("number", "at", "status_code", "duration_ms", "error", "response_excerpt")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("event", "endpoint", "status", "attempts", "created_at", "delivered_at")
    list_filter = ("status", "event", "endpoint")
    readonly_fields = ("endpoint", "event", "payload", "status", "attempts", "delivered_at")
    inlines = [WebhookAttemptInline]

    def has_add_permission(self, request):
        return False
