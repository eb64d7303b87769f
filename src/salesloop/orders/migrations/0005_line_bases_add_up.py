"""Order lines' company-currency figures made to add up to their order's.

Lines of a foreign-currency order used to be converted one by one, so their rounded figures
could miss the order's by a cent or two (and product-line actuals no longer added up to the
total). New orders split the order's figure over their lines by amount to the cent
(``orders.services._split_base``); this repairs the orders written before: only those whose
lines do not add up are touched, their ``updated_at`` moved so that the next rollup refresh
fills their months again.
"""

from django.db import migrations
from django.db.models import Count, F, Sum
from django.utils import timezone

BATCH = 500


def hamilton(total: int, weights: list[int]) -> list[int]:
    """``total`` split in proportion to ``weights`` (equally if they are all zero), largest
    remainders first, the lower index first among equals."""
    if not any(weights):
        weights = [1] * len(weights)
    whole = sum(weights)
    floors, rems = [], []
    for w in weights:
        q, r = divmod(total * w, whole)
        floors.append(q)
        rems.append(r)
    for i in sorted(range(len(weights)), key=lambda i: (-rems[i], i))[: total - sum(floors)]:
        floors[i] += 1
    return floors


def repair(apps, schema_editor):
    from decimal import Decimal

    Order = apps.get_model("orders", "Order")
    OrderLine = apps.get_model("orders", "OrderLine")
    off = list(
        Order.objects.annotate(n=Count("lines"), lines_base=Sum("lines__amount_base"))
        .filter(n__gt=0)
        .exclude(lines_base=F("amount_base"))
        .values_list("pk", "amount_base")
    )
    now = timezone.now()
    for start in range(0, len(off), BATCH):
        batch = dict(off[start : start + BATCH])
        lines = list(OrderLine.objects.filter(order_id__in=batch).order_by("order_id", "pk"))
        by_order: dict[int, list] = {}
        for line in lines:
            by_order.setdefault(line.order_id, []).append(line)
        for order_id, own in by_order.items():
            total = batch[order_id]
            sign = -1 if total < 0 else 1
            cents = hamilton(
                int(abs(total) * 100), [int(abs(line.amount) * 100) for line in own]
            )
            for line, c in zip(own, cents, strict=True):
                line.amount_base = (Decimal(sign * c) / 100).quantize(Decimal("0.01"))
        OrderLine.objects.bulk_update(lines, ["amount_base"], batch_size=BATCH)
        Order.objects.filter(pk__in=batch).update(updated_at=now)


class Migration(migrations.Migration):
    dependencies = [("orders", "0004_customer_first_order")]

    operations = [migrations.RunPython(repair, migrations.RunPython.noop)]
