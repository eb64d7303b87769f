from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from salesloop.dataio.kinds import available_kinds
from salesloop.dataio.models import ImportJob


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What does the file contain?"), choices=())
    file = forms.FileField(
        label=_("File"), help_text=_("Excel workbook (.xlsx) or CSV (UTF-8 or GBK).")
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k.name, k.label) for k in available_kinds()]
        self.fields["file"].widget.attrs["accept"] = ".xlsx,.csv,.txt"


class MappingForm(forms.Form):
    """One select per header of the file: which field it fills (or nothing)."""

    valid_rows_only = forms.BooleanField(
        label=_("Import the valid rows and skip the others"),
        required=False,
        help_text=_("Otherwise nothing is imported while any row has a problem."),
    )
    template_name = forms.CharField(
        label=_("Save this mapping as a template"),
        required=False,
        max_length=120,
        help_text=_("Give it a name to reuse it for the next file of this kind."),
    )

    def __init__(self, *args: Any, job: ImportJob, kind: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.job = job
        choices = [("", _("— do not import —"))] + [
            (c.name, f"{c.label} *" if c.required else str(c.label)) for c in kind.columns
        ]
        self.header_fields = []
        for index, header in enumerate(job.headers):
            if not header:
                continue
            name = f"col_{index}"
            self.fields[name] = forms.ChoiceField(
                label=header, choices=choices, required=False, initial=job.mapping.get(header, "")
            )
            self.header_fields.append((name, header, index))
        self.fields["valid_rows_only"].initial = job.valid_rows_only

    def mapping(self) -> dict[str, str]:
        return {
            header: self.cleaned_data[name]
            for name, header, _i in self.header_fields
            if self.cleaned_data.get(name)
        }
