"""The follow-ups page: a manager or director opens on everyone they may see, a rep on their own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories as f

pytestmark = pytest.mark.django_db


def test_follow_ups_open_on_the_team_for_managers_and_on_mine_for_reps(org, client, login):
    now = timezone.now()
    cust = f.customer(org.rep_a2)
    f.activity(
        org.rep_a2,
        cust,
        at=now - timedelta(days=5),
        due=timezone.localdate() - timedelta(days=2),
        subject="Send the quote",
    )
    url = reverse("activities:followups")
    login(org.mgr_a)
    page = client.get(url).content.decode()
    assert "Send the quote" in page and 'href="?scope=team" class="on"' in page
    mine = client.get(url, {"scope": "mine"}).content.decode()
    assert "Send the quote" not in mine and 'href="?scope=mine" class="on"' in mine
    login(org.director)
    assert "Send the quote" in client.get(url).content.decode()
    login(org.rep_a1)  # another rep's follow-up: not theirs, and no team switch
    page = client.get(url).content.decode()
    assert "Send the quote" not in page and "?scope=team" not in page
    assert "Send the quote" not in client.get(url, {"scope": "team"}).content.decode()
    login(org.rep_a2)
    assert "Send the quote" in client.get(url).content.decode()


def test_my_day_says_its_follow_ups_are_the_next_7_days_and_leads_to_the_rest(org, login):
    """It read "Due today and this week" on a Friday while listing the next Wednesday, showed
    8 of 11 with no way to the others, and said "nothing due this week" when empty."""
    client = login(org.rep_a1)
    page = client.get(reverse("home")).content.decode()
    assert "Due today and in the next 7 days" in page and "Nothing due in the next 7 days." in page
    assert 'data-testid="all-upcoming"' not in page
    today = timezone.localdate()
    for i in range(11):
        f.activity(org.rep_a1, f.customer(org.rep_a1), due=today + timedelta(days=1 + i % 7))
    f.activity(org.rep_a1, f.customer(org.rep_a1), due=today + timedelta(days=8))  # not within
    page = client.get(reverse("home")).content.decode()
    start = page.index("Due today and in the next 7 days")
    card = page[start : page.index("</section>", start)]
    assert card.count('data-bucket="upcoming"') == 8
    assert 'data-testid="all-upcoming"' in card and "See all follow-ups due" in card
    listed = client.get(reverse("activities:followups")).content.decode()
    assert listed.count('data-bucket="upcoming"') == 11
