"""The ``data`` of each webhook event, built from the records (plain JSON values)."""

from __future__ import annotations

from typing import Any


def _money(value: Any) -> str | None:
    return None if value is None else str(value)


def _when(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _stage(stage: Any) -> dict[str, Any] | None:
    if stage is None:
        return None
    return {
        "id": stage.pk,
        "name": stage.name,
        "kind": stage.kind,
        "probability": stage.probability,
    }


def opportunity_payload(opportunity: Any, *, from_stage: Any = None) -> dict[str, Any]:
    """``opportunity.stage_changed`` and ``deal.won``."""
    return {
        "opportunity": {
            "id": opportunity.pk,
            "name": opportunity.name,
            "customer": {"id": opportunity.customer_id, "name": opportunity.customer.name},
            "owner": {"id": opportunity.owner_id, "name": opportunity.owner.display_name},
            "amount": _money(opportunity.amount),
            "currency": opportunity.currency,
            "amount_base": _money(opportunity.amount_base),
            "expected_close": _when(opportunity.expected_close),
            "product_line": opportunity.product_line_id,
            "closed_at": _when(opportunity.closed_at),
            "lost_reason": opportunity.lost_reason,
        },
        "from_stage": _stage(from_stage),
        "to_stage": _stage(opportunity.stage),
        "changed_at": _when(opportunity.stage_entered_at),
    }


def order_payload(order: Any) -> dict[str, Any]:
    """``order.created``."""
    return {
        "order": {
            "id": order.pk,
            "number": order.number,
            "customer": {"id": order.customer_id, "name": order.customer.name},
            "owner": {"id": order.owner_id, "name": order.owner.display_name},
            "opportunity": order.opportunity_id,
            "signed_on": _when(order.signed_on),
            "amount": _money(order.amount),
            "currency": order.currency,
            "amount_base": _money(order.amount_base),
            "status": order.status,
            "lines": [
                {
                    "product": line.product_id,
                    "product_line": line.product_line_id,
                    "quantity": str(line.quantity),
                    "unit_price": _money(line.unit_price),
                    "amount": _money(line.amount),
                }
                for line in order.lines.order_by("pk")
            ],
        }
    }


def target_payload(revision: Any) -> dict[str, Any]:
    """``target.revised``: the revision (reason, author, before and after) and its target."""
    target = revision.target
    return {
        "revision": {
            "id": revision.pk,
            "reason": revision.reason,
            "author": revision.author_id,
            "before": revision.before,
            "after": revision.after,
            "counts_from": revision.counts_from,
            "at": _when(revision.at),
        },
        "target": {
            "id": target.pk,
            "plan": target.plan_id,
            "member": target.member_id,
            "unit": target.unit_id,
            "metric": target.metric,
            "product_line": target.product_line_id,
            "floor": _money(target.floor),
            "target": _money(target.target),
            "stretch": _money(target.stretch),
        },
    }
