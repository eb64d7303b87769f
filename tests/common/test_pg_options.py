"""The app's PostgreSQL connections: JIT off and the planner's random page cost
(PG_RANDOM_PAGE_COST, docs/deploy.md step 9)."""

from __future__ import annotations

import pytest
from django.db import connection

from salesloop.settings.env import ImproperlyConfiguredEnv, pg_options


def test_default_is_jit_off_and_ssd_page_cost():
    assert pg_options("1.1") == "-c jit=off -c random_page_cost=1.1"
    assert pg_options(" 4 ") == "-c jit=off -c random_page_cost=4"


def test_empty_keeps_the_servers_page_cost():
    assert pg_options("") == "-c jit=off"
    assert pg_options("   ") == "-c jit=off"


@pytest.mark.parametrize("bad", ["fast", "0", "-1", "1e9", "nan", "1.1; DROP"])
def test_a_value_it_cannot_use_is_refused_with_the_accepted_ones(bad):
    with pytest.raises(ImproperlyConfiguredEnv) as err:
        pg_options(bad)
    assert "PG_RANDOM_PAGE_COST" in str(err.value) and repr(bad) in str(err.value)
    assert "1.1 for SSD" in str(err.value)


@pytest.mark.django_db
def test_the_connections_run_with_them():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL connection options")
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert float(cursor.fetchone()[0]) == pytest.approx(1.1)
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
