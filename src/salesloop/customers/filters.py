"""One filter definition for the customer list, used by the page and (later) the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from salesloop.common.forms import FilterForm, search_field
from salesloop.customers.choices import Industry, Tier
from salesloop.customers.models import Customer

ORDERINGS = {
    "name": "name",
    "-created": "-created_at",
    "tier": "tier",
    "owner": "owner__display_name",
    # annotated by customers.selectors.with_recent_revenue
    "-revenue": "-revenue_12m",
    "-last_order": F("last_order").desc(nulls_last=True),
}


class CustomerFilter(FilterForm):
    q = search_field(_("Name, contact or phone"))
    tier = forms.ChoiceField(
        label=_("Tier"), required=False, choices=[("", _("All tiers")), *Tier.choices]
    )
    industry = forms.ChoiceField(
        label=_("Industry"), required=False, choices=[("", _("All industries")), *Industry.choices]
    )
    region = forms.CharField(label=_("Region"), required=False, max_length=64)
    owner = forms.IntegerField(label=_("Owner"), required=False, min_value=1, max_value=2**62)
    order = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[
            ("name", _("Name")),
            ("-created", _("Newest")),
            ("tier", _("Tier")),
            ("owner", _("Owner")),
            ("-revenue", _("Revenue, last 12 months")),
            ("-last_order", _("Latest order")),
        ],
    )

    def owner_options(self, user: Any) -> list[tuple[int, str, bool]]:
        """The owner filter's choices: the visible members who own a customer."""
        from salesloop.org.selectors import owner_choices

        chosen = self.cleaned_data.get("owner") if self.is_valid() else None
        return owner_choices(user=user, owned=Customer.objects.all(), chosen=chosen)

    def apply(self, queryset: QuerySet[Customer]) -> QuerySet[Customer]:
        data: dict[str, Any] = self.cleaned_data if self.is_valid() else {}
        if q := (data.get("q") or "").strip():
            queryset = queryset.filter(
                Q(name__icontains=q)
                | Q(external_id__iexact=q)
                | Q(contacts__name__icontains=q)
                | Q(contacts__phone__icontains=q)
            ).distinct()
        if tier := data.get("tier"):
            queryset = queryset.filter(tier=tier)
        if industry := data.get("industry"):
            queryset = queryset.filter(industry=industry)
        if region := (data.get("region") or "").strip():
            queryset = queryset.filter(region=region)
        if owner := data.get("owner"):
            queryset = queryset.filter(owner_id=owner)
        return queryset.order_by(ORDERINGS.get(data.get("order") or "name", "name"), "pk")
