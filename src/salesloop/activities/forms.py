from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesloop.activities.models import Activity
from salesloop.common.forms import DateInput, DateTimeInput


class ActivityForm(forms.ModelForm):
    class Meta:
        model = Activity
        fields = [
            "kind",
            "subject",
            "occurred_at",
            "duration_minutes",
            "outcome",
            "notes",
            "follow_up_due",
        ]
        widgets = {
            "kind": forms.RadioSelect,
            "occurred_at": DateTimeInput(),
            "follow_up_due": DateInput(),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["occurred_at"].initial = timezone.localtime().replace(second=0, microsecond=0)
        # a type is always picked (a call, the most frequent, by default): no "---------"
        kind = self.fields["kind"]
        kind.choices = [c for c in kind.choices if c[0]]  # type: ignore[attr-defined]
        kind.initial = kind.initial or "call"
        self.fields["duration_minutes"].widget.attrs.update({"min": "0", "max": str(24 * 60)})
        self.fields["subject"].widget.attrs["placeholder"] = _("What happened, in a few words")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        due: date | None = data.get("follow_up_due")
        occurred = data.get("occurred_at")
        if due and occurred and due < timezone.localtime(occurred).date():
            self.add_error(
                "follow_up_due", _("The next follow-up cannot be due before the activity itself.")
            )
        return data
