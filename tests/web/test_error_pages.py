"""An address that only takes a form's data, visited: the app's page, not an empty 405."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_visit_to_a_form_only_address_gets_a_page_that_says_so(org, login):
    client = login(org.rep_a1)
    response = client.get(reverse("activities:log"))
    body = response.content.decode()
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert 'data-testid="error-page"' in body and "nothing was changed" in body
    assert 'class="sidebar' in body  # the whole app around it: the menu to go on from
    # in Chinese for a reader who chose it
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert "此地址" in client.get(reverse("activities:log")).content.decode()


def test_the_api_and_htmx_keep_their_own_405(org, login):
    client = login(org.rep_a1)
    htmx = client.get(reverse("activities:log"), headers={"HX-Request": "true"})
    assert htmx.status_code == 405 and htmx.content == b""
    api = client.get("/api/plans/1/proposals/accept")
    assert api.status_code == 405 and b"error-page" not in api.content
