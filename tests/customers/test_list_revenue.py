"""The customer list's "revenue, last 12 months" and "latest order": from the active orders the
user may see, summed by the database, and sortable."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from salesloop.customers.filters import CustomerFilter
from salesloop.customers.selectors import customer_list, customer_totals
from salesloop.orders.services import order_cancel, order_create
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_revenue_of_the_last_12_months_from_visible_active_orders(org, client, login):
    today = timezone.localdate()
    big = f.customer(org.rep_a1, name="Big Buyer")
    old = f.customer(org.rep_a1, name="Old Buyer")
    quiet = f.customer(org.rep_a1, name="No Orders")

    def order(number, customer, owner, days_ago, amount):
        return order_create(
            number=number,
            customer=customer,
            owner=owner,
            signed_on=today - timedelta(days=days_ago),
            amount=Decimal(amount),
        )

    order("B1", big, org.rep_a1, 10, "1000.50")
    order("B2", big, org.rep_a1, 364, "2000")  # inside the 365 days
    order("B3", big, org.rep_a1, 365, "4000")  # one day too old
    order_cancel(order=order("B4", big, org.rep_a1, 5, "8000"))  # cancelled: not revenue
    order("B5", big, org.rep_w1, 20, "16000")  # another branch's rep sold to it
    order("O1", old, org.rep_a1, 400, "500")
    rows = {
        c.name: c
        for c in customer_list(user=org.rep_a1.user, filters=CustomerFilter({"order": "-revenue"}))
    }
    # rep_a1 sees their own orders only: 1 000.50 + 2 000
    assert rows["Big Buyer"].revenue_12m == Decimal("3000.50")
    assert rows["Big Buyer"].last_order == today - timedelta(days=10)
    assert rows["Old Buyer"].revenue_12m == 0
    assert rows["Old Buyer"].last_order == today - timedelta(days=400)
    assert rows["No Orders"].revenue_12m == 0 and rows["No Orders"].last_order is None
    # the director also sees rep_w1's 16 000 (and its later date does not change the latest)
    director = {
        c.name: c for c in customer_list(user=org.director.user, filters=CustomerFilter({}))
    }
    assert director["Big Buyer"].revenue_12m == Decimal("19000.50")
    # sorted by revenue, then by latest order (customers without orders last)
    names = [
        c.name
        for c in customer_list(user=org.rep_a1.user, filters=CustomerFilter({"order": "-revenue"}))
    ]
    assert names[0] == "Big Buyer"
    names = [
        c.name
        for c in customer_list(
            user=org.rep_a1.user, filters=CustomerFilter({"order": "-last_order"})
        )
        if c.name in ("Big Buyer", "Old Buyer", "No Orders")
    ]
    assert names == ["Big Buyer", "Old Buyer", "No Orders"]
    login(org.rep_a1)
    html = client.get(reverse("customers:list"), {"order": "-revenue"}).content.decode()
    assert "¥3,000" in html and "Revenue, last 12 months" in html  # whole yuan on the page
    assert quiet.name in html


def test_customer_list_owner_filter(org, client, login):
    """A manager filters their customers by owner (only the members they may see); a rep has
    no owner filter."""
    f.customer(org.rep_a1, name="Ace Mills")
    f.customer(org.rep_a2, name="Bolt Works")
    f.customer(org.rep_w1, name="West Yard")
    login(org.mgr_a)
    html = client.get(reverse("customers:list")).content.decode()
    options = html.split('data-testid="owner-filter"')[1].split("</select>")[0]
    assert "Rep_A1" in options and "Rep_A2" in options and "Rep_W1" not in options
    only = client.get(reverse("customers:list"), {"owner": org.rep_a2.pk}).content.decode()
    assert "Bolt Works" in only and "Ace Mills" not in only
    assert f'<option value="{org.rep_a2.pk}" selected>' in only
    login(org.rep_a1)
    assert (
        'data-testid="owner-filter"' not in client.get(reverse("customers:list")).content.decode()
    )


def test_customer_page_lists_open_deals_first_then_the_newest_closed(
    org, client, login, monkeypatch, time_machine
):
    from salesloop.customers import views
    from salesloop.pipeline.models import Stage
    from salesloop.pipeline.services import opportunity_move_stage

    won = Stage.objects.get(pipeline=org.pipeline, kind="won")
    today = timezone.localdate()
    now = timezone.now()
    time_machine.move_to(now - timedelta(days=120), tick=False)  # the deals are older
    cust = f.customer(org.rep_a1, name="Deal Hall")
    for name, days in (("Open later", 40), ("Open sooner", 5)):
        f.opportunity(org.rep_a1, cust, name=name, expected_close=today + timedelta(days=days))
    closed = {
        name: f.opportunity(org.rep_a1, cust, name=name) for name in ("Won long ago", "Won lately")
    }
    time_machine.move_to(now, tick=False)
    for name, days in (("Won long ago", 90), ("Won lately", 3)):
        opportunity_move_stage(
            opportunity=closed[name],
            stage=won,
            actor=org.rep_a1.user,
            at=now - timedelta(days=days),
        )
    login(org.rep_a1)
    html = client.get(reverse("customers:detail", args=[cust.pk])).content.decode()
    deals = html.split('data-testid="customer-deals"')[1].split("</ul>")[0]
    names = ["Open sooner", "Open later", "Won lately", "Won long ago"]
    assert [deals.index(n) for n in names] == sorted(deals.index(n) for n in names)
    assert "All 4 deals" not in html
    monkeypatch.setattr(views, "DEALS_SHOWN", 3)  # more deals than the page shows: a link
    html = client.get(reverse("customers:detail", args=[cust.pk])).content.decode()
    assert "Won long ago" not in html.split('data-testid="customer-deals"')[1].split("</ul>")[0]
    assert f"?customer={cust.pk}&status=" in html and "All 4 deals" in html


def test_list_totals_add_up_the_listed_customers_on_every_page(org, client, login):
    """Under the table: how many customers the filters list, how many bought in the last 12
    months and the sum of the revenue column, over all pages (not only the one shown), from
    the orders the user may see. The list asks for them once shown, with its filters."""
    today = timezone.localdate()
    big = f.customer(org.rep_a1, name="Big Buyer", tier="key")
    f.customer(org.rep_a1, name="No Orders", tier="key")
    lapsed = f.customer(org.rep_a1, name="Lapsed", tier="b")
    for number, customer, owner, days_ago, amount in [
        ("B1", big, org.rep_a1, 10, "1000"),
        ("B2", big, org.rep_a1, 364, "2000"),
        ("B3", big, org.rep_a1, 365, "4000"),  # one day too old
        ("B5", big, org.rep_w1, 20, "16000"),  # only those who see rep_w1 count it
        ("L1", lapsed, org.rep_a1, 400, "500"),
    ]:
        order_create(
            number=number,
            customer=customer,
            owner=owner,
            signed_on=today - timedelta(days=days_ago),
            amount=Decimal(amount),
        )
    for i in range(30):  # two pages of small buyers
        small = f.customer(org.rep_a1, name=f"Small {i:02}", tier="b")
        order_create(
            number=f"S{i}",
            customer=small,
            owner=org.rep_a1,
            signed_on=today - timedelta(days=i),
            amount=Decimal(100),
        )
    login(org.rep_a1)
    page = client.get(reverse("customers:list"), {"order": "name", "page": 2}).content.decode()
    # the list shows at once and asks for its totals with the same filters
    assert 'hx-get="/customers/totals/?order=name&amp;page=2"' in page
    assert 'hx-trigger="load"' in page and 'data-testid="totals"' not in page

    def totals(params):
        html = client.get(reverse("customers:totals"), params, HTTP_HX_REQUEST="true")
        return html.content.decode()

    # by hand: 1 000 + 2 000 + 30 × 100; Big Buyer and the thirty small ones bought
    listed = customer_list(user=org.rep_a1.user, filters=CustomerFilter({}))
    assert customer_totals(listed, user=org.rep_a1.user) == {
        "revenue": Decimal("6000"),
        "buyers": 31,
    }
    # the same as adding up the column row by row
    assert sum(r.revenue_12m for r in listed) == Decimal("6000")
    assert sum(1 for r in listed if r.revenue_12m) == 31
    html = totals({"order": "name"})
    assert html.startswith("<tfoot>") and 'data-testid="totals"' in html
    assert "The 33 customers these filters list: 31 bought in the last 12 months" in html
    assert "<strong>¥6,000</strong>" in html
    # the page number does not change them; a filter narrows them
    assert totals({"order": "name", "page": 2}) == html
    key = totals({"tier": "key"})
    assert "The 2 customers these filters list: 1 bought" in key and "¥3,000<" in key
    # the director also sees rep_w1's order
    login(org.director)
    director = totals({"q": "Big Buyer"})
    assert "The 1 customer these filters list: 1 bought" in director and "¥19,000<" in director
    none = client.get(reverse("customers:list"), {"q": "no such customer"}).content.decode()
    assert "totals-loading" not in none
    assert totals({"q": "no such customer"}).strip() == ""
