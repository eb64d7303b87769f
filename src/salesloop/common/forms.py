"""Form helpers shared by the apps."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def apply_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: field errors by field, the rest on top."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            target: Any = field if field in form.fields else None
            for item in errors:
                form.add_error(target, item)
    else:
        for message in error.messages:
            form.add_error(None, message)


def search_field(placeholder: Any) -> forms.CharField:
    """The free-text search box of a list's filters, saying what it searches."""
    return forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": placeholder, "type": "search"}),
    )


class FilterForm(forms.Form):
    """A list's filters, shown as bare boxes in a row: each box carries its label as its
    accessible name (``aria-label``), which a screen reader says and a test can find it by."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if field.label:
                field.widget.attrs.setdefault("aria-label", str(field.label))


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)
