from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from salesloop.apitokens.choices import TokenScope
from salesloop.org.visibility import can_write


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=80, help_text=_("Where the token is used, e.g. “ERP sync”.")
    )
    scope = forms.ChoiceField(label=_("Scope"), choices=TokenScope.choices, initial=TokenScope.READ)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not can_write(user):
            self.fields["scope"].choices = [(TokenScope.READ, TokenScope.READ.label)]
