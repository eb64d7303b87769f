"""Thin task entrypoints for the API's housekeeping."""

from __future__ import annotations

from django_tasks import task

from salesloop.apitokens.services import idempotency_purge


@task()
def idempotency_keys_purge() -> int:
    """Daily: forget idempotency keys older than 24 hours."""
    return idempotency_purge()
