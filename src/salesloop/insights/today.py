"""The pace strip of "My day": this month's and this quarter's attainment of the node a user
lands on (a rep: themselves; a manager or viewer: their unit; a director or admin: the
company), with exactly the dashboard's figures (the same ``cards`` call and scope)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from salesloop.insights import selectors as s
from salesloop.insights.facts import Facts
from salesloop.insights.scope import Scope, period_label, resolve_scope

PERIODS = ("month", "quarter")


@dataclass(frozen=True)
class PaceCard:
    """One period of the strip: the dashboard's card for it and what is left to do."""

    kind: str
    label: str
    scope: Scope
    card: s.Card
    days_left: int  # calendar days to the period end, today included (1 on its last day)
    url: str  # the dashboard at this scope

    @property
    def to_target(self) -> Decimal:
        """What is still missing to the target (0 once it is reached)."""
        return max(self.card.thresholds.target - self.card.actual, Decimal(0))

    @property
    def behind(self) -> bool:
        return self.card.pace is not None and self.card.pace < 0.9


def day_pace(user: object, today: date | None = None) -> list[PaceCard]:
    """The month and quarter cards of the user's landing node (empty for a user who sees no
    node, e.g. an account without a place in the org tree)."""
    today = today or timezone.localdate()
    out = []
    for kind in PERIODS:
        try:
            scope = resolve_scope(user, {"period": kind}, today=today)
        except Http404:
            return []
        facts = Facts(scope.node.member_ids, None)
        # the probabilities are simulated for the quarter only: a month has little pipeline
        # left to simulate, and the landing page should stay quick
        card = s.cards(scope, [scope.node], facts, simulate=kind == "quarter")[scope.node.key]
        out.append(
            PaceCard(
                kind=kind,
                label=period_label(scope),
                scope=scope,
                card=card,
                days_left=max((scope.period.end - today).days + 1, 0),
                url=f"{reverse('insights:dashboard')}?{scope.query()}",
            )
        )
    return out
