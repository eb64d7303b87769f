"""The deals list sums what its filters list, on every page, through the visibility rule."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from tests import factories as f

pytestmark = pytest.mark.django_db


def test_the_list_totals_what_the_filters_list(org, login):
    negotiation = org.pipeline.stages.get(order=4)  # 70 %
    f.opportunity(org.rep_a1, amount="100000")  # prospecting, 10 %
    f.opportunity(org.rep_a1, amount="250000", stage=negotiation)
    f.opportunity(org.rep_a2, amount="40000")
    f.opportunity(org.rep_w1, amount="999999")  # another region's: not the manager's
    client = login(org.mgr_a)
    url = reverse("pipeline:list")
    page = client.get(url)
    # 100,000 + 250,000 + 40,000; weighted 10,000 + 175,000 + 4,000
    assert page.context["totals"] == {
        "count": 3,
        "amount": Decimal("390000"),
        "weighted": Decimal("189000"),
    }
    body = page.content.decode()
    assert "Total of the 3 deals these filters list" in body and "¥390,000" in body
    assert "¥189,000 weighted by stage" in body
    mine = client.get(url, {"owner": org.rep_a1.pk}).context["totals"]
    assert (mine["count"], mine["amount"], mine["weighted"]) == (2, 350000, 185000)
    # every page of a long list shows the whole list's total
    for _ in range(30):
        f.opportunity(org.rep_a2, amount="1000")
    second = client.get(url, {"page": 2}).context
    assert second["page"].number == 2 and second["totals"]["amount"] == Decimal("420000")
    none = client.get(url, {"q": "no such deal"})
    assert none.context["totals"] is None and 'data-testid="totals"' not in none.content.decode()
