from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from salesloop.common.money import ENTRY_DIGITS, ENTRY_MAX, typed_figure
from salesloop.customers.models import ProductLine
from salesloop.org.models import OrgUnit
from salesloop.targets.choices import MONEY_METRICS, REASON_MIN, ROUND_TO_CHOICES, Metric

HIRE_ROWS = 3


class AmountField(forms.DecimalField):
    """A decimal typed the way people copy it from Excel or a report: ``1,234,567.89``,
    ``1 234 567``, ``¥1,234,567``, with the full-width ``，`` / ``￥``, ``504万`` or ``5.04亿``
    (``common.money.typed_figure``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", ENTRY_DIGITS)
        super().__init__(**kwargs)
        # said in the reader's language: the fields are made once, at import, in no request
        too_large = format_lazy(_("At most {most}, please."), most=f"{ENTRY_MAX:,}")
        self.error_messages.update(
            max_digits=too_large,
            max_whole_digits=too_large,
            invalid=_("Type a number, e.g. 5,040,000 or 504万."),
            required=_("Give a figure."),
            max_decimal_places=_("At most %(max)s decimal places."),
        )
        for validator in self.validators:
            if isinstance(validator, MinValueValidator) and validator.limit_value == 0:
                validator.message = _("Cannot be negative.")
            elif isinstance(validator, MaxValueValidator) and validator.limit_value == ENTRY_MAX:
                validator.message = too_large
            elif isinstance(validator, MinValueValidator) and validator.limit_value == -ENTRY_MAX:
                validator.message = format_lazy(
                    _("At least {least}, please."), least=f"−{ENTRY_MAX:,}"
                )

    def run_validators(self, value: Any) -> None:
        """The first thing wrong, said once (a figure too large broke both the size and the
        bound, and read "At most 999999999999.99. At most 999,999,999,999.99.")."""
        if value in self.empty_values:
            return
        for validator in self.validators:
            try:
                validator(value)
            except forms.ValidationError as error:
                if getattr(error, "code", None) in self.error_messages:
                    error.message = self.error_messages[error.code]
                raise forms.ValidationError(error.error_list[:1]) from None

    def to_python(self, value: Any) -> Decimal | None:
        if isinstance(value, str) and value.strip():
            number = typed_figure(value)
            if number is None:
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
            value = str(number)
        return super().to_python(value)


class TargetValuesForm(forms.Form):
    floor = AmountField(
        label=_("Floor"), min_value=Decimal(0), max_digits=ENTRY_DIGITS, decimal_places=2
    )
    target = AmountField(
        label=_("Target"), min_value=Decimal(0), max_digits=ENTRY_DIGITS, decimal_places=2
    )
    stretch = AmountField(
        label=_("Stretch"), min_value=Decimal(0), max_digits=ENTRY_DIGITS, decimal_places=2
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    locked = forms.BooleanField(label=_("Locked"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        f, t, s = data.get("floor"), data.get("target"), data.get("stretch")
        if None not in (f, t, s) and not f <= t <= s:  # type: ignore[operator]
            raise forms.ValidationError(_("Floor ≤ target ≤ stretch, please."))
        return data


class RevisionForm(TargetValuesForm):
    reason = forms.CharField(
        label=_("Reason"),
        min_length=REASON_MIN,
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": _("Why does this target change?")}),
        error_messages={
            "required": _("Say why this target changes."),
            "min_length": _("Say why in a few words (at least %(limit_value)d characters)."),
        },
    )
    from_month = forms.IntegerField(
        label=_("Counts from"),
        required=False,
        min_value=1,
        max_value=12,
        help_text=_("The first month of the plan's year that the revision changes."),
    )


class ProposalForm(forms.Form):
    value = AmountField(
        label=_("My proposal"),
        min_value=Decimal(0),
        max_digits=ENTRY_DIGITS,
        decimal_places=2,
        widget=forms.TextInput(
            attrs={
                "placeholder": _("My proposal"),
                "aria-label": _("My proposal"),
                "inputmode": "decimal",
            }
        ),
    )
    comment = forms.CharField(
        label=_("Why"),
        required=False,
        max_length=500,
        widget=forms.TextInput(
            attrs={
                # short enough to be read whole in the narrow box; the example in its title
                "placeholder": _("Your reasons"),
                "title": _(
                    "Why you propose this figure, e.g. a key account's budget is cut "
                    "(optional; whoever decides on it reads it)"
                ),
                "aria-label": _("Why"),
            }
        ),
    )


class NewPlanForm(forms.Form):
    fiscal_year = forms.IntegerField(label=_("Fiscal year"), min_value=2000, max_value=2100)


class InputsForm(forms.Form):
    """The inputs of a recommendation; growth in percent, uplifts per product line, hires."""

    growth_pct = forms.DecimalField(
        label=_("Market growth (%)"),
        help_text=_(
            "On top of the trend the history already shows (the baseline): 0 keeps the trend "
            "alone. The waterfall shows what it adds."
        ),
        initial=0,
        min_value=Decimal(-90),
        max_value=Decimal(500),
        decimal_places=2,
    )
    strategy_line = forms.CharField(label=_("Strategy line"), required=False, max_length=200)
    floor_probability = forms.IntegerField(
        label=_("Floor reached with (%)"), initial=80, min_value=51, max_value=99
    )
    target_probability = forms.IntegerField(
        label=_("Target reached with (%)"), initial=50, min_value=2, max_value=98
    )
    stretch_probability = forms.IntegerField(
        label=_("Stretch reached with (%)"), initial=30, min_value=1, max_value=49
    )
    cap_to_capacity = forms.BooleanField(
        label=_("Cap at team capacity"), required=False, initial=True
    )
    round_to = forms.TypedChoiceField(
        label=_("Round targets to"),
        coerce=int,
        # a new plan's money targets in whole ¥10,000 (万), as a director writes them; a plan
        # computed before keeps what it was computed with (``initial_from``)
        initial=10_000,
        required=False,
        empty_value=0,
        help_text=_(
            "Every split (teams, people, product lines, months) is a multiple of this, and still "
            "adds up exactly. A small target is rounded more finely so that it never rounds to zero."
        ),
    )

    def __init__(
        self,
        *args: Any,
        lines: list[ProductLine] | None = None,
        metric: str = Metric.BOOKED_REVENUE,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines or []
        if metric in MONEY_METRICS:
            self.fields["round_to"].choices = [  # type: ignore[attr-defined]
                (v, _("the cent") if v == 0 else f"¥{v:,}") for v in ROUND_TO_CHOICES
            ]
        else:  # counts are whole numbers already
            del self.fields["round_to"]
        for line in self.lines:
            self.fields[f"uplift_{line.code}"] = AmountField(
                label=line.name,
                required=False,
                min_value=-ENTRY_MAX,
                max_value=ENTRY_MAX,
                max_digits=ENTRY_DIGITS,
                decimal_places=2,
            )
        for i in range(HIRE_ROWS):
            self.fields[f"hire{i}_month"] = forms.IntegerField(
                label=_("Hire starts in month"), required=False, min_value=1, max_value=12
            )
            self.fields[f"hire{i}_fte"] = forms.DecimalField(
                label=_("Headcount"),
                required=False,
                min_value=Decimal("0.1"),
                max_value=Decimal(100),
            )
            self.fields[f"hire{i}_ramp"] = forms.IntegerField(
                label=_("Ramp (months)"), required=False, min_value=1, max_value=24, initial=6
            )
            # shown in a table under column headings: each box says what it is and which hire
            for name in (f"hire{i}_month", f"hire{i}_fte", f"hire{i}_ramp"):
                field = self.fields[name]
                field.widget.attrs["aria-label"] = f"{field.label} · {i + 1}"

    @property
    def uplift_fields(self) -> list[forms.BoundField]:
        return [self[f"uplift_{line.code}"] for line in self.lines]

    @property
    def hire_rows(self) -> list[tuple[forms.BoundField, ...]]:
        return [
            (self[f"hire{i}_month"], self[f"hire{i}_fte"], self[f"hire{i}_ramp"])
            for i in range(HIRE_ROWS)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        fp, tp, sp = (
            data.get("floor_probability"),
            data.get("target_probability"),
            data.get("stretch_probability"),
        )
        # a hire is a start month and a headcount: half a row is said, not guessed (a missing
        # headcount used to become 1 and a missing month dropped the hire without a word)
        for i in range(HIRE_ROWS):
            month, fte = data.get(f"hire{i}_month"), data.get(f"hire{i}_fte")
            if f"hire{i}_month" in self.errors or f"hire{i}_fte" in self.errors:
                continue
            if month and not fte:
                self.add_error(
                    f"hire{i}_fte",
                    _(
                        "Hire %(n)s: give how many people start (e.g. 2, or 0.5 for a half-time "
                        "post), or clear its month."
                    )
                    % {"n": i + 1},
                )
            elif fte and not month:
                self.add_error(
                    f"hire{i}_month",
                    _("Hire %(n)s: give the month they start (1 to 12), or clear the row.")
                    % {"n": i + 1},
                )
        if None not in (fp, tp, sp) and not fp > tp > sp:  # type: ignore[operator]
            raise forms.ValidationError(
                _("The floor must be the most likely, then the target, then the stretch.")
            )
        return data

    def inputs(self) -> dict[str, Any]:
        d = self.cleaned_data
        hires = []
        for i in range(HIRE_ROWS):
            if d.get(f"hire{i}_month"):
                hires.append(
                    {
                        "start_month": d[f"hire{i}_month"],
                        "fte": float(d[f"hire{i}_fte"]),
                        "ramp_months": d.get(f"hire{i}_ramp") or 6,
                    }
                )
        return {
            "growth_rate": float(d["growth_pct"]) / 100,
            "uplifts": {
                ln.code: float(d.get(f"uplift_{ln.code}") or 0)
                for ln in self.lines
                if d.get(f"uplift_{ln.code}")
            },
            "hires": hires,
            "probabilities": [
                d["floor_probability"] / 100,
                d["target_probability"] / 100,
                d["stretch_probability"] / 100,
            ],
            "cap_to_capacity": bool(d.get("cap_to_capacity")),
            "strategy_line": d.get("strategy_line") or "",
            "round_to": int(d.get("round_to") or 0),
        }

    @classmethod
    def initial_from(cls, inputs: dict[str, Any]) -> dict[str, Any]:
        if not inputs:
            return {}
        initial: dict[str, Any] = {
            "growth_pct": round(inputs.get("growth_rate", 0) * 100, 2),
            "strategy_line": inputs.get("strategy_line", ""),
            "cap_to_capacity": inputs.get("cap_to_capacity", True),
            "round_to": inputs.get("round_to", 0),
        }
        probs = inputs.get("probabilities") or [0.8, 0.5, 0.3]
        initial.update(
            floor_probability=round(probs[0] * 100),
            target_probability=round(probs[1] * 100),
            stretch_probability=round(probs[2] * 100),
        )
        for code, amount in (inputs.get("uplifts") or {}).items():
            # ¥2,000,000 rather than 2000000.0 in the box
            initial[f"uplift_{code}"] = int(amount) if float(amount).is_integer() else amount
        for i, hire in enumerate(inputs.get("hires") or []):
            initial.update(
                {
                    f"hire{i}_month": hire["start_month"],
                    f"hire{i}_fte": hire.get("fte", 1),
                    f"hire{i}_ramp": hire.get("ramp_months", 6),
                }
            )
        return initial


METRIC_CHOICES = Metric.choices


class MoveForm(forms.Form):
    """Move a member to another team; their targets go along (``targets.moves``)."""

    unit: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("New team"), queryset=None, empty_label=_("Choose a team…")
    )
    reason = forms.CharField(
        label=_("Reason"),
        min_length=REASON_MIN,
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": _("Why does this person change teams?")}),
    )

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]
        # each team with the units above it below the company ("East › Team B"): two teams of
        # the same name in two regions are told apart, and the company is not picked by chance
        names = dict(OrgUnit.objects.values_list("path", "name"))

        def label(unit: OrgUnit) -> str:
            parts = unit.path.rstrip("/").split("/")
            chain = ["/".join(parts[: k + 1]) + "/" for k in range(len(parts))]
            return " › ".join(names.get(p, "?") for p in chain[1:]) or unit.name

        self.fields["unit"].label_from_instance = label  # type: ignore[attr-defined]
