"""The unsplit half of a credited figure: records without credit rows.

``NOT EXISTS (credit rows of this record)`` rather than Django's ``credits__isnull=True``
(a LEFT JOIN with ``credit.id IS NULL``): PostgreSQL does not read the latter as an anti-join,
estimates that almost no row survives it, and then probes a million orders one by one (the
new customers of a company's year at scale S1: 0.7 s instead of 0.15 s).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet


def without_credits(
    base: QuerySet[Any], credit_model: Any, fk: str, ref: str = "pk"
) -> QuerySet[Any]:
    """``base`` rows whose record (``ref``: its primary key, or the path to it, e.g. the
    order of a payment) has no rows in ``credit_model`` (whose ``fk`` points at the record)."""
    return base.filter(~Exists(credit_model.objects.filter(**{fk: OuterRef(ref)})))
