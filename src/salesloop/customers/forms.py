from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from salesloop.customers.models import Contact, Customer
from salesloop.org.visibility import assignable_owners, default_owner


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = [
            "name",
            "tier",
            "industry",
            "region",
            "owner",
            "potential",
            "phone",
            "address",
            "external_id",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = assignable_owners(user)
        self.fields["potential"].min_value = Decimal("0")
        self.fields["potential"].widget.attrs["min"] = "0"
        if not self.instance.pk:
            self.initial["owner"] = default_owner(user, self.fields["owner"].queryset)

    def clean_potential(self) -> Decimal:
        value = self.cleaned_data.get("potential") or Decimal("0")
        if value < 0:
            raise forms.ValidationError(_("The potential cannot be negative."))
        return value

    def clean_external_id(self) -> str | None:
        return (self.cleaned_data.get("external_id") or "").strip() or None


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "title", "phone", "email", "is_primary"]
