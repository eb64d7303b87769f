"""An import of orders, row by row or in bulk (overlapped or not), leaves every customer's first
active order kept as the services keep it."""

from __future__ import annotations

import pytest

from salesloop.orders.models import CustomerFirstOrder
from tests.dataio.test_import import CUSTOMERS
from tests.orders.test_first_orders import reference

pytestmark = pytest.mark.django_db

HEAD = ["合同编号", "客户编号", "负责人", "签约日期", "金额"]
FIRST = [
    HEAD,
    ["HT-1", "C1", "rep_a1", "2025-03-07", "10"],
    ["HT-2", "C2", "rep_a2", "2025-03-09", "20"],
]
LATER = [
    HEAD,
    ["HT-3", "C1", "rep_a1", "2024-11-30", "30"],  # earlier than C1's first
    ["HT-4", "C2", "rep_a2", "2025-05-01", "40"],
    ["HT-2", "C1", "rep_a2", "2025-03-09", "20"],  # moves HT-2 from C2 to C1
]


@pytest.mark.parametrize("path", ["rows", "bulk", "overlapped"])
def test_imports_keep_the_first_orders(org, do_import, monkeypatch, path):
    from salesloop.dataio import engine, handlers

    bulk = path != "rows"
    if path == "overlapped":  # batches written while the next chunk is read (as on PostgreSQL)
        monkeypatch.setattr(handlers, "OVERLAP_ON_SQLITE", True)
        monkeypatch.setattr(engine, "CHUNK", 1)
    do_import("customers", CUSTOMERS, org.mgr_a)
    assert do_import("orders", FIRST, org.mgr_a, bulk=bulk).committed
    kept = dict(CustomerFirstOrder.objects.values_list("customer_id", "order_id"))
    assert kept == reference() and len(kept) == 2
    result = do_import("orders", LATER, org.mgr_a, bulk=bulk)
    assert (result.created, result.updated, result.committed) == (2, 1, True)
    kept = dict(CustomerFirstOrder.objects.values_list("customer_id", "order_id"))
    assert kept == reference()
    from salesloop.orders.models import Order

    assert {Order.objects.get(pk=o).number for o in kept.values()} == {"HT-3", "HT-4"}
