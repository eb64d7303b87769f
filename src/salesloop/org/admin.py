from django.contrib import admin

from salesloop.org.models import Company, Member, OrgUnit


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("name", "currency", "time_zone", "fiscal_year_start_month")


@admin.register(OrgUnit)
class OrgUnitAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "parent", "depth", "path")
    list_filter = ("kind",)
    search_fields = ("name",)
    readonly_fields = ("path", "depth")


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ("display_name", "user", "role", "org_unit", "hired_on", "left_on")
    list_filter = ("role", "org_unit")
    search_fields = ("display_name", "user__username")
    raw_id_fields = ("user",)
