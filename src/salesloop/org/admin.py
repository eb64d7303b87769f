from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from salesloop.org.models import Company, Member, OrgUnit
from salesloop.org.services import org_unit_place


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("name", "currency", "time_zone", "fiscal_year_start_month")


@admin.register(OrgUnit)
class OrgUnitAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "parent", "depth", "path")
    list_filter = ("kind",)
    search_fields = ("name",)

    def get_readonly_fields(
        self, request: HttpRequest, obj: OrgUnit | None = None
    ) -> tuple[str, ...]:
        # Moving a unit under another parent would leave the paths of its subtree and the sums
        # of every plan wrong; only a new unit chooses its parent.
        fixed = ("path", "depth", "created_at")
        return ("parent", *fixed) if obj is not None else fixed

    def save_model(self, request: HttpRequest, obj: OrgUnit, form: object, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if not change:
                org_unit_place(obj)


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ("display_name", "user", "role", "org_unit", "hired_on", "left_on")
    list_filter = ("role", "org_unit")
    search_fields = ("display_name", "user__username")
    raw_id_fields = ("user",)

    def get_readonly_fields(
        self, request: HttpRequest, obj: Member | None = None
    ) -> tuple[str, ...]:
        # A team change must carry the member's targets along and be recorded as revisions
        # (targets.moves), which a bare field edit here would not do: it is made on the move
        # page, which this form links to.
        return ("org_unit", "move_link", "created_at") if obj is not None else ("created_at",)

    @admin.display(description=_("Move to another team"))
    def move_link(self, obj: Member) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("targets:move", args=[obj.pk]),
            _("Open the move page: the targets go along, with a reason and revisions."),
        )
