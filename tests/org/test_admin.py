"""Django's admin may not bend the org tree behind the plans' back.

A unit added there gets its materialised path (the visibility rule reads subtrees by path
prefix: a unit with an empty path would let its members see the whole company); a unit's parent
and a member's team are not editable there, because moving either must carry targets along.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from salesloop.org.choices import UnitKind
from salesloop.org.models import Member, OrgUnit
from salesloop.org.services import member_create
from salesloop.org.visibility import visible
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _form(client, url: str) -> dict[str, str]:
    """The admin change form's current values, as a browser would post them back."""
    import re

    html = client.get(url).content.decode()
    data: dict[str, str] = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        data.setdefault(name, value)
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', body)
        data[name] = chosen.group(1) if chosen else ""
    return data


def _errors(response) -> str:
    form = response.context["adminform"].form if response.context else None
    return str(form.errors if form is not None else response.status_code)


def _change(client, url: str, **changes: str) -> None:
    """Post the admin change form back with ``changes``, as a browser would; it must save."""
    data = _form(client, url)
    data.update(changes)
    response = client.post(url, data)
    assert response.status_code == 302, _errors(response)


def test_a_unit_added_in_the_admin_gets_its_path_and_sees_only_itself(org, client):
    client.login(username=org.admin.user.username, password=PASSWORD)
    response = client.post(
        reverse("admin:org_orgunit_add"),
        {"name": "Team E2", "kind": UnitKind.TEAM, "parent": org.east.pk, "sort_order": 0},
    )
    assert response.status_code == 302, _errors(response)
    unit = OrgUnit.objects.get(name="Team E2")
    assert unit.path == f"{org.east.path}{unit.pk:06d}/"
    assert unit.depth == org.east.depth + 1
    rep = member_create(username="rep_e2", password=PASSWORD, display_name="Rep E2", org_unit=unit)
    # a rep of the new team sees only themselves, not the company
    assert list(visible(Member.objects.all(), user=rep.user)) == [rep]


def test_a_units_parent_is_not_editable_in_the_admin(org, client):
    client.login(username=org.admin.user.username, password=PASSWORD)
    _change(
        client,
        reverse("admin:org_orgunit_change", args=[org.team_b.pk]),
        name="Team B renamed",
        parent=str(org.west.pk),
    )
    org.team_b.refresh_from_db()
    assert org.team_b.name == "Team B renamed"
    assert org.team_b.parent_id == org.east.pk
    assert org.team_b.path.startswith(org.east.path)


def test_a_members_team_is_changed_on_the_move_page_not_in_the_admin(org, client):
    client.login(username=org.admin.user.username, password=PASSWORD)
    url = reverse("admin:org_member_change", args=[org.rep_a1.pk])
    page = client.get(url).content.decode()
    assert reverse("targets:move", args=[org.rep_a1.pk]) in page
    _change(client, url, title="Senior rep", org_unit=str(org.team_w.pk))
    org.rep_a1.refresh_from_db()
    assert org.rep_a1.title == "Senior rep"
    assert org.rep_a1.org_unit_id == org.team_a.pk
