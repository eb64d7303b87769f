from django.contrib import admin

from salesloop.pipeline.models import (
    Lead,
    Opportunity,
    OpportunityCredit,
    Pipeline,
    Stage,
    StageChange,
)


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0


class StageChangeInline(admin.TabularInline):
    model = StageChange
    extra = 0
    fields = ("from_stage", "to_stage", "changed_at", "changed_by", "amount_base")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class CreditInline(admin.TabularInline):
    model = OpportunityCredit
    extra = 0
    raw_id_fields = ("member",)


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ("name", "is_default")
    inlines = [StageInline]


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ("name", "pipeline", "order", "probability", "kind")
    list_filter = ("pipeline", "kind")


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ("name", "company_name", "source", "status", "owner", "created_at")
    list_filter = ("status", "source")
    search_fields = ("name", "company_name", "phone", "email", "external_id")
    raw_id_fields = ("owner", "converted_customer", "converted_opportunity")


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = ("name", "customer", "owner", "stage", "amount", "currency", "expected_close")
    list_filter = ("stage", "product_line", "source")
    search_fields = ("name", "customer__name", "external_id")
    raw_id_fields = ("customer", "owner")
    readonly_fields = ("amount_base", "stage_entered_at", "closed_at")
    inlines = [CreditInline, StageChangeInline]


@admin.register(StageChange)
class StageChangeAdmin(admin.ModelAdmin):
    list_display = ("opportunity", "from_stage", "to_stage", "changed_at", "changed_by")
    raw_id_fields = ("opportunity", "changed_by")


@admin.register(OpportunityCredit)
class OpportunityCreditAdmin(admin.ModelAdmin):
    list_display = ("opportunity", "member", "share")
    raw_id_fields = ("opportunity", "member")
