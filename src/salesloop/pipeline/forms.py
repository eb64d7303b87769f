from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from salesloop.common.forms import DateInput
from salesloop.customers.models import Customer
from salesloop.customers.selectors import customer_list
from salesloop.org.visibility import assignable_owners, default_owner
from salesloop.pipeline.choices import LostReason
from salesloop.pipeline.models import Opportunity, Stage


class CustomerField(forms.ModelChoiceField):
    """A customer picked by typing: accepts an id or the "Name · #id" text the datalist offers."""

    widget = forms.TextInput

    def to_python(self, value: Any) -> Customer | None:
        if isinstance(value, str) and "#" in value:
            value = value.rsplit("#", 1)[1].strip()
        return super().to_python(value)


class OpportunityForm(forms.ModelForm):
    customer = CustomerField(label=_("Customer"), queryset=Customer.objects.none())

    class Meta:
        model = Opportunity
        fields = [
            "name",
            "customer",
            "owner",
            "amount",
            "currency",
            "expected_close",
            "product_line",
            "source",
        ]
        widgets = {"expected_close": DateInput()}

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customer_list(user=user)
        self.fields["customer"].widget.attrs.update(
            {"list": "customer-options", "autocomplete": "off", "placeholder": _("Type to search…")}
        )
        self.fields["owner"].queryset = assignable_owners(user)
        self.fields["amount"].widget.attrs["min"] = "0"
        if self.instance.pk and self.instance.customer_id:
            self.initial["customer"] = (
                f"{self.instance.customer.name} · #{self.instance.customer_id}"
            )
        if not self.instance.pk:
            self.initial["owner"] = default_owner(
                user, self.fields["owner"].queryset, preferred=self.initial.get("owner")
            )

    def clean_amount(self) -> Decimal:
        value = self.cleaned_data.get("amount")
        if value is None:
            raise forms.ValidationError(_("Enter an amount."))
        if value < 0:
            raise forms.ValidationError(_("The amount cannot be negative."))
        return value


class MoveStageForm(forms.Form):
    stage = forms.ModelChoiceField(
        label=_("Stage"),
        queryset=Stage.objects.all(),
        error_messages={"invalid_choice": _("Unknown stage: choose one of the pipeline's stages.")},
    )
    lost_reason = forms.ChoiceField(
        label=_("Lost reason"), required=False, choices=[("", "—"), *LostReason.choices]
    )

    def __init__(self, *args: Any, opportunity: Opportunity, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = opportunity.pipeline.stages.order_by("order")
