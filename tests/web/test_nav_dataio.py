"""The navigation's import / export item: who may import goes to the import page; a viewer, who
may only export, to the export page, and the item says so."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def nav_item(body: str) -> str:
    match = re.search(
        r'<a href="([^"]*)" class="nav-link[^"]*" data-nav="dataio">([^<]*)</a>', body
    )
    assert match, "no import / export item in the navigation"
    return match.group(1), match.group(2)


def test_a_viewer_is_led_to_the_export_page(client, org, login):
    login(org.viewer_a)
    href, label = nav_item(client.get("/").content.decode())
    assert href == "/data/export/" and label == "Export"
    assert client.get(href).status_code == 200
    assert client.get("/data/import/").status_code == 403  # the page they were sent to before


@pytest.mark.parametrize("role", ["rep_a1", "mgr_a", "director"])
def test_who_may_import_is_led_to_the_import_page(client, org, login, role):
    login(getattr(org, role))
    href, label = nav_item(client.get("/").content.decode())
    assert href == "/data/import/" and label == "Import / export"
    assert client.get(href).status_code == 200
