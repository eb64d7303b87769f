"""The fast paths of big imports give exactly what the plain paths give."""

import contextlib
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import Workbook

from salesloop.common.models import AuditEvent
from salesloop.dataio import engine, readers
from salesloop.dataio.bulk import id_ranges
from salesloop.dataio.engine import ChunkParser, parse_row
from salesloop.dataio.formats import CellError, parse_decimal
from salesloop.dataio.kinds import KINDS
from salesloop.orders.models import Order
from tests.dataio.test_import import CUSTOMERS, ORDERS

CELLS = [
    None,
    "",
    "   ",
    "\u3000",
    " C1 ",
    "C1",
    "上海华东机电",
    "ｆｕｌｌ",
    "rep_a1",
    "2025/3/7",
    "2025年3月8日",
    "soon",
    "45723",
    "1234.50",
    "0001234.5",
    "¥1,234.50",
    "1.2万",
    "(300)",
    "-5",
    "1 234,50",
    "12345678901234567890.5",
    "1e3",
    "NaN",
    "１２３",
    0,
    7,
    1234.5,
    0.1 + 0.2,
    True,
    date(2025, 3, 7),
    datetime(2025, 3, 7, 10, 30),
]


@pytest.mark.parametrize("kind", ["orders", "customers", "payments", "activities", "targets"])
def test_chunk_parser_equals_parse_row(kind):
    spec = KINDS[kind]
    fields = {c.name: i for i, c in enumerate(spec.columns)}
    rows = []
    for shift in range(len(CELLS)):  # every cell in every column, in many combinations
        rows.append([CELLS[(shift + i * 7) % len(CELLS)] for i in range(len(spec.columns))])
    rows.append(["x"])  # a short row
    parser = ChunkParser(spec, fields)
    for _ in range(3):  # again, with what the parser remembers
        parsed, errors = parser.parse([(n, values) for n, values in enumerate(rows)])
        for n, values in enumerate(rows):
            row, messages = parse_row(spec, fields, values)
            assert parsed[n] == row and [type(v) for v in parsed[n].values()] == [
                type(v) for v in row.values()
            ]
            assert errors.get(n, []) == messages


@pytest.mark.parametrize(
    "text", ["0", "7", "1234.50", "0001234.5", "123456789012345678", "1.12345678", "99.90"]
)
def test_plain_numbers_read_as_the_general_path_reads_them(text):
    from salesloop.dataio.formats import _number_from_text

    fast, general = parse_decimal(text), _number_from_text(text)
    assert fast == general and str(fast) == str(general)


@pytest.mark.parametrize("text", ["1234567890123456789", "1.123456789", "-1", "1.", ".5", " 1"])
def test_other_numbers_take_the_general_path(text):
    from salesloop.dataio.formats import _PLAIN_NUMBER

    assert not _PLAIN_NUMBER.fullmatch(text)
    with contextlib.suppress(CellError):
        parse_decimal(text)


def test_bulk_orders_are_audited_per_batch_with_their_ids(org, do_import, monkeypatch):
    """One ``order.import`` event per written batch: its actor, and ranges of exactly its ids."""
    monkeypatch.setattr(engine, "CHUNK", 2)
    do_import("customers", CUSTOMERS, org.mgr_a)
    rows = [
        *ORDERS[:3],
        ["HT-004", "C2", "rep_a2", "2025-03-09", "5", ""],
        ["HT-005", "C1", "rep_a1", "2025-03-10", "6", "CNY"],
    ]
    result = do_import("orders", rows, org.mgr_a, bulk=True)
    assert (result.created, result.committed) == (4, True)
    events = list(AuditEvent.objects.filter(action="order.import").order_by("pk"))
    assert not AuditEvent.objects.filter(action="order.create").exists()
    assert len(events) == 2  # 4 rows, 2 per chunk
    covered = []
    for event in events:
        assert event.actor_id == org.mgr_a.user_id and event.kind == "create"
        assert event.subject_type == "orders.order" and event.subject_id == ""
        ids = [pk for first, last in event.changes["ids"] for pk in range(first, last + 1)]
        assert event.changes["created"] == len(ids) == 2
        covered += ids
    assert sorted(covered) == sorted(Order.objects.values_list("pk", flat=True))


def test_id_ranges():
    assert id_ranges([]) == []
    assert id_ranges([7]) == [[7, 7]]
    assert id_ranges([5, 3, 4, 9, 10, 12]) == [[3, 5], [9, 10], [12, 12]]


@pytest.mark.parametrize("overlap", [False, True])
def test_duplicates_across_chunks_are_rejected(org, do_import, monkeypatch, overlap):
    from salesloop.dataio import handlers

    monkeypatch.setattr(handlers, "OVERLAP_ON_SQLITE", overlap)
    monkeypatch.setattr(engine, "CHUNK", 2)
    do_import("customers", CUSTOMERS, org.mgr_a)
    rows = [*ORDERS[:3], ["HT-004", "C2", "rep_a2", "2025-03-09", "5", ""], ORDERS[1]]
    result = do_import("orders", rows, org.mgr_a, valid_rows_only=True)
    assert (result.created, result.rejected) == (3, 1)
    assert result.samples[0]["row"] == 5 and "more than once" in result.samples[0]["reason"]
    again = do_import("orders", rows[:4], org.mgr_a)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def _shapeless(monkeypatch):
    monkeypatch.setattr(readers._RowShape, "learn", classmethod(lambda cls, data, at: None))


def _read(path):
    table = readers.open_table(path)
    try:
        return [(n, list(v)) for n, v in table.rows()]
    finally:
        table.close()


def test_xlsx_rows_of_one_shape_read_as_cell_by_cell(tmp_path, monkeypatch):
    wb = Workbook()
    ws = wb.active
    ws.append(["合同编号", "签约日期", "金额", "备注", "布尔", "空"])
    texts = ["a & b <c>", "line\nbreak", "_x000D_", " lead", "ｆｕｌｌ", "plain", ""]
    for i in range(12000):  # several chunks of 1 MB
        ws.append(
            [
                f"HT{i:05d}",
                date(2024, 1, 1 + i % 28),
                [1234.5, 100, 1e20, 3.0][i % 4],
                texts[i % len(texts)] if i < 3000 else "plain",
                i % 3 == 0,
                None,
            ]
        )
    path = tmp_path / "shape.xlsx"
    wb.save(path)
    hits = []
    read = readers._RowShape.read
    monkeypatch.setattr(
        readers._RowShape, "read", lambda self, *a: hits.append(read(self, *a)) or hits[-1]
    )
    shaped = _read(path)
    assert sum(1 for rows in hits if rows) >= 2  # most chunks were read by shape
    _shapeless(monkeypatch)
    plain = _read(path)
    assert shaped == plain
    assert [[type(v) for v in values] for _n, values in shaped] == [
        [type(v) for v in values] for _n, values in plain
    ]
    assert shaped[1] == (3, ["HT00001", date(2024, 1, 2), 100, "line\nbreak", False, None])


@pytest.mark.parametrize(
    "amounts",
    [
        ["1234.50", "7", "0001234.5", "99999999999999.99", "0.005", "12.345"],
        ["1234.50", "7", " 8"],  # not all plain: cell by cell
        ["1234.50", "", "7"],
        ["1234.50", "12\n34"],
        [1234.5, 0.1 + 0.2, 1e20, 3.0, 0.005],  # number cells of a workbook
        [1234.5, 7, 3.0],
        [1234.5, True],
    ],
)
def test_whole_columns_read_as_cell_by_cell(amounts):
    spec = KINDS["orders"]
    fields = {"number": 0, "customer": 1, "owner": 2, "signed_on": 3, "amount": 4, "currency": 5}
    rows = [
        [f" HT{i} " if i % 2 else f"HT{i}", "C1", "" if i == 1 else "rep_a1", "2025-03-07", a, ""]
        for i, a in enumerate(amounts)
    ]
    parsed, errors = ChunkParser(spec, fields).parse(list(enumerate(rows)))
    for n, values in enumerate(rows):
        row, messages = parse_row(spec, fields, values)
        assert parsed[n] == row and [str(v) for v in parsed[n].values()] == [
            str(v) for v in row.values()
        ]
        assert errors.get(n, []) == messages


@pytest.fixture
def overlapped(monkeypatch):
    from salesloop.dataio import handlers

    monkeypatch.setattr(handlers, "OVERLAP_ON_SQLITE", True)


@pytest.mark.parametrize("chunk", [2, 10_000])
def test_rows_met_again_while_earlier_ones_are_written(
    org, do_import, monkeypatch, overlapped, chunk
):
    """With writes overlapped, a key of the chunk being written is still found (same messages)."""
    monkeypatch.setattr(engine, "CHUNK", chunk)
    do_import("customers", CUSTOMERS, org.mgr_a)
    head = ["合同编号", "外部编号", "客户编号", "负责人", "签约日期", "金额"]
    rows = [
        head,
        ["HT-1", "E1", "C1", "rep_a1", "2025-03-07", "10"],  # chunk 1 (of 2 rows)
        ["HT-2", "", "C2", "rep_a2", "2025-03-07", "20"],
        ["HT-3", "", "C2", "rep_a2", "2025-03-07", "30"],  # chunk 2: chunk 1 is being written
        ["HT-1", "", "C1", "rep_a1", "2025-03-07", "10"],
        ["HT-9", "E1", "C1", "rep_a1", "2025-03-07", "10"],  # chunk 3
        ["HT-1", "E5", "C1", "rep_a1", "2025-03-07", "10"],
        ["HT-4", "", "C1", "rep_a1", "2025-03-07", "40"],  # chunk 4
        ["HT-3", "", "C2", "rep_a2", "2025-03-07", "30"],
    ]
    overlapped = do_import("orders", rows, org.mgr_a)
    assert not overlapped.committed and Order.objects.count() == 0
    one_by_one = do_import("orders", rows, org.mgr_a, valid_rows_only=True)
    assert one_by_one.committed
    twice = "This record appears more than once in the file."
    for result in (overlapped, one_by_one):
        assert (result.created, result.rejected) == (4, 4)
        assert [(s["row"], s["reason"]) for s in result.samples] == [
            (5, "This record appears more than once in the file."),
            (6, "This record appears more than once in the file."),
            # (met in the same chunk, a repeated number is simply "more than once")
            (7, "Contract HT-1 already has another external id." if chunk == 2 else twice),
            (9, "This record appears more than once in the file."),
        ]
    clean = [r for n, r in enumerate(rows, 1) if n not in (5, 6, 7, 9)]
    again = do_import("orders", clean, org.mgr_a)
    assert (again.created, again.updated, again.unchanged, again.committed) == (0, 0, 4, True)


def test_foreign_keys_are_checked_at_commit_again_after_an_import(org, do_import, overlapped):
    """(PostgreSQL: the import checks them batch by batch, then sets them back.)"""
    from django.db import transaction

    do_import("customers", CUSTOMERS, org.mgr_a)
    assert do_import("orders", ORDERS[:3], org.mgr_a).created == 2
    order = Order.objects.first()
    with transaction.atomic():
        Order.objects.filter(pk=order.pk).update(customer_id=10**9)  # no such customer, yet
        Order.objects.filter(pk=order.pk).update(customer_id=order.customer_id)
    order.refresh_from_db()
    assert order.customer.external_id in {"C1", "C2"}


@pytest.mark.parametrize("chunk", [2, 10_000])
def test_overlapped_batches_write_what_the_services_write(
    org, do_import, monkeypatch, overlapped, chunk
):
    from datetime import date as day

    from salesloop.orders.models import ExchangeRate
    from tests.dataio.test_import import _rows

    monkeypatch.setattr(engine, "CHUNK", chunk)
    ExchangeRate.objects.create(currency="USD", valid_from=day(2025, 1, 1), rate=Decimal("7.1"))
    do_import("customers", CUSTOMERS, org.mgr_a)
    orders = [
        *ORDERS,
        ["HT-004", "C2", "rep_a2", "45723", "(0)", "USD"],
        ["HT-005", "C2", "", "2025-03-10", "3.333", "USD"],
        ["HT-006", "C1", "rep_a1", "2025-03-11", "99999999999.99", "人民币"],
    ]

    def created_ids(action):
        events = AuditEvent.objects.filter(action=action).values_list("changes", flat=True)
        return sorted(
            pk for c in events for first, last in c["ids"] for pk in range(first, last + 1)
        )

    assert do_import("orders", orders, org.mgr_a, bulk=False).created == 6
    service_rows = _rows(Order)
    assert AuditEvent.objects.filter(action="order.create").count() == 6
    Order.objects.all().delete()
    result = do_import("orders", orders, org.mgr_a, bulk=True)
    assert (result.created, result.committed) == (6, True)
    assert _rows(Order) == service_rows
    assert created_ids("order.import") == sorted(Order.objects.values_list("pk", flat=True))


def test_garbage_collection_settings_are_set_back(org, do_import):
    import gc

    before = gc.get_threshold()
    do_import("customers", CUSTOMERS, org.mgr_a)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_orders_checked_by_column_as_row_by_row(org, do_import, monkeypatch):
    from salesloop.dataio.handlers import OrderHandler
    from salesloop.orders.models import ExchangeRate

    ExchangeRate.objects.create(currency="USD", valid_from=date(2025, 1, 1), rate=Decimal("7.1"))
    do_import("customers", CUSTOMERS, org.mgr_a)
    head = [
        "合同编号",
        "外部编号",
        "客户编号",
        "负责人",
        "签约日期",
        "金额",
        "币种",
        "产品线",
        "状态",
    ]
    good = ["", "", "C1", "rep_a1", "2025-03-07", "10", "", "", ""]
    changes = [
        {},
        {2: "C2", 3: "rep_a2", 6: "USD", 7: "SW", 8: "已取消"},
        {3: ""},
        {0: "X" * 65},
        {1: "E" * 65},
        {2: "NOPE"},
        {3: "rep_w1"},
        {3: "nobody"},
        {5: "(5)"},
        {5: "999999999999999"},
        {6: "XYZ"},
        {6: "USD", 4: "2024-12-31"},  # no rate yet
        {7: "nothing"},
        {8: "weird"},
        {3: "nobody", 6: "XYZ"},
        {6: "EUR", 8: "weird"},
    ]
    rows = [head]
    for i, change in enumerate(changes):
        row = [f"HT-{i}", "", *good[2:]]
        for at, value in change.items():
            row[at] = value
        rows.append(row)
    by_column = do_import("orders", rows, org.mgr_a, valid_rows_only=True)
    Order.objects.all().delete()
    monkeypatch.setattr(OrderHandler, "_check", lambda self, rows: {})
    by_row = do_import("orders", rows, org.mgr_a, valid_rows_only=True)
    assert by_column.samples == by_row.samples and by_column.as_dict() == {
        **by_row.as_dict(),
        "seconds": by_column.seconds,
    }
    assert (by_row.created, by_row.rejected) == (3, 13), by_row.samples
    print([(s["row"], s["reason"]) for s in by_row.samples])


@pytest.mark.parametrize(
    "values",
    [
        ["HT-011", "HT-012"],  # between existing numbers, none of them there
        ["HT-001", "HT-005"],  # below all
        ["HT-040", "HT-099", "合同-1"],  # above all
        ["HT-010"],
        ["HT-005", "HT-020", "HT-025", "HT-031"],  # a range holding rows, some of them asked for
        ["HT-015", "HT-025"],  # a range holding a row not asked for
        ["ht-010", "HT-010 ", "HT-01"],  # near misses
    ],
)
def test_existing_ids_finds_what_the_orm_finds(org, do_import, values):
    from salesloop.dataio.bulk import existing_ids

    do_import("customers", CUSTOMERS, org.mgr_a)
    rows = [ORDERS[0], *([f"HT-0{n}0", "C1", "rep_a1", "2025-03-07", "100", ""] for n in (1, 2, 3))]
    assert do_import("orders", rows, org.mgr_a).created == 3
    expected = set(Order.objects.filter(number__in=values).values_list("pk", flat=True))
    assert sorted(existing_ids(Order, {"number": values})) == sorted(expected)
