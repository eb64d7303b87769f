"""Reads for imports: a user sees only their own import jobs and templates."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from salesloop.dataio.models import ImportJob, ImportTemplate


def import_job_get(*, user: Any, pk: Any) -> ImportJob:
    """One of the user's own jobs; anyone else's answers like a missing one (404)."""
    return get_object_or_404(ImportJob, pk=pk, user_id=getattr(user, "pk", None))


def import_job_list(*, user: Any, limit: int = 10) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(user_id=user.pk).order_by("-created_at")[:limit]


def import_templates(*, user: Any, kind: str) -> QuerySet[ImportTemplate]:
    return ImportTemplate.objects.filter(created_by_id=user.pk, kind=kind)
