"""common.db.SideChannel: a write that commits at once while the caller's transaction is open
(PostgreSQL), and nothing at all where the database admits one writer (SQLite)."""

from __future__ import annotations

import pytest
from django.db import connection, connections, transaction

from salesloop.common.db import SideChannel
from salesloop.targets import services
from salesloop.targets.models import PlanImport

pytestmark = pytest.mark.django_db(transaction=True)


def _job(org):
    plan = services.plan_create(
        fiscal_year=2027, owner=org.director, actor=org.director.user, name="side channel"
    )
    return PlanImport.objects.create(plan=plan, requested_by=org.director, filename="f.xlsx")


def _seen_by_another_connection(job):
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute(f"SELECT done FROM {PlanImport._meta.db_table} WHERE id = %s", [job.pk])
            return cursor.fetchone()[0]
    finally:
        other.close()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a second writer needs PostgreSQL")
def test_a_side_write_commits_while_the_transaction_is_open_and_outlives_its_rollback(org):
    job = _job(org)

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        PlanImport.objects.create(plan=job.plan, requested_by=org.director, filename="g.xlsx")
        with SideChannel() as side:
            assert side.available
            side.update(PlanImport, job.pk, done=7)
            assert _seen_by_another_connection(job) == 7  # committed, though we are not
            side.update(PlanImport, job.pk, done=9)
        assert _seen_by_another_connection(job) == 9
        raise Rollback
    assert PlanImport.objects.get(pk=job.pk).done == 9
    assert not PlanImport.objects.filter(filename="g.xlsx").exists()  # the caller's: undone


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite's single writer")
def test_with_one_writer_a_side_write_does_nothing(org):
    job = _job(org)
    with transaction.atomic(), SideChannel() as side:
        assert not side.available
        side.update(PlanImport, job.pk, done=7)
    assert PlanImport.objects.get(pk=job.pk).done == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a second writer needs PostgreSQL")
def test_a_row_held_by_the_callers_transaction_is_given_up_not_waited_for(org):
    job = _job(org)
    with transaction.atomic():
        PlanImport.objects.filter(pk=job.pk).update(filename="held.xlsx")  # our row lock
        with SideChannel() as side:
            side.update(PlanImport, job.pk, done=7)  # waits 1 s at most, then gives up
            assert not side.available
            side.update(PlanImport, job.pk, done=8)  # and does not try again
    assert PlanImport.objects.get(pk=job.pk).done == 0
