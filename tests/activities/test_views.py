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
