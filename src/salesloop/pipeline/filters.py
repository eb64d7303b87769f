"""One filter definition for the opportunity list, used by the page and (later) the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from salesloop.common.forms import FilterForm, search_field
from salesloop.customers.models import ProductLine
from salesloop.pipeline.choices import StageKind
from salesloop.pipeline.models import Opportunity, Stage

ORDERINGS = {
    "close": "expected_close",
    "-amount": "-amount_base",
    "-created": "-created_at",
    "stage": "stage__order",
}


class OpportunityFilter(FilterForm):
    q = search_field(_("Search deals or customers"))
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), *StageKind.choices],
        initial=StageKind.OPEN,
    )
    stage = forms.ModelChoiceField(
        label=_("Stage"), required=False, queryset=Stage.objects.all(), empty_label=_("All stages")
    )
    product_line = forms.ModelChoiceField(
        label=_("Product line"),
        required=False,
        queryset=ProductLine.objects.all(),
        empty_label=_("All product lines"),
    )
    owner = forms.IntegerField(label=_("Owner"), required=False, min_value=1, max_value=2**62)
    customer = forms.IntegerField(label=_("Customer"), required=False, min_value=1, max_value=2**62)
    close_from = forms.DateField(label=_("Closes from"), required=False)
    close_to = forms.DateField(label=_("Closes by"), required=False)
    order = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[
            ("close", _("Expected close")),
            ("-amount", _("Largest first")),
            ("-created", _("Newest")),
            ("stage", _("Stage")),
        ],
    )

    def owner_options(self, user: Any) -> list[tuple[int, str, bool]]:
        """The owner filter's choices: the visible members who own a deal."""
        from salesloop.org.selectors import owner_choices

        chosen = self.cleaned_data.get("owner") if self.is_valid() else None
        return owner_choices(user=user, owned=Opportunity.objects.all(), chosen=chosen)

    def apply(self, queryset: QuerySet[Opportunity]) -> QuerySet[Opportunity]:
        data: dict[str, Any] = self.cleaned_data if self.is_valid() else {}
        if q := (data.get("q") or "").strip():
            queryset = queryset.filter(
                Q(name__icontains=q) | Q(customer__name__icontains=q) | Q(external_id__iexact=q)
            )
        if status := data.get("status"):
            queryset = queryset.filter(stage__kind=status)
            if status == StageKind.OPEN:
                # the same deals (a deal has a closing day exactly while its stage is not
                # open), said so that the partial index of open deals serves the list
                queryset = queryset.filter(closed_at__isnull=True)
        if stage := data.get("stage"):
            queryset = queryset.filter(stage=stage)
        if product_line := data.get("product_line"):
            queryset = queryset.filter(product_line=product_line)
        if owner := data.get("owner"):
            queryset = queryset.filter(owner_id=owner)
        if customer := data.get("customer"):
            queryset = queryset.filter(customer_id=customer)
        if close_from := data.get("close_from"):
            queryset = queryset.filter(expected_close__gte=close_from)
        if close_to := data.get("close_to"):
            queryset = queryset.filter(expected_close__lte=close_to)
        return queryset.order_by(
            ORDERINGS.get(data.get("order") or "close", "expected_close"), "pk"
        )
