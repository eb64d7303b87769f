"""Import behaviour: idempotence, all-or-nothing, valid rows only, permissions, bulk == service."""

import csv
from datetime import date
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from salesloop.common.models import AuditEvent
from salesloop.customers.models import Customer
from salesloop.orders.models import ExchangeRate, Order, Payment
from salesloop.pipeline.models import Opportunity, StageChange
from tests import factories as f

CUSTOMERS = [
    ["客户编号", "客户名称", "负责人", "客户等级", "行业", "年潜力"],
    ["C1", "上海华东机电", "rep_a1", "重点客户", "制造业", "1.2万"],
    ["C2", "杭州云栖软件", "rep_a2", "A", "IT", "￥30,000"],
    ["C3", "苏州精工", "", "B类", "其他", ""],
]
ORDERS = [
    ["合同编号", "客户编号", "负责人", "签约日期", "金额", "币种"],
    ["HT-001", "C1", "rep_a1", "2025/3/7", "¥1,234.50", ""],
    ["HT-002", "C2", "rep_a2", "2025年3月8日", "1.2万", "CNY"],
    ["HT-003", "C1", "rep_a1", "2025-03-09", "1000", "USD"],
]


def test_customers_import_and_reimport_changes_nothing(org, do_import):
    first = do_import("customers", CUSTOMERS, org.mgr_a)
    assert (first.error, first.created, first.rejected, first.committed) == ("", 3, 0, True)
    c1 = Customer.objects.get(external_id="C1")
    assert (c1.tier, c1.industry, c1.potential, c1.owner) == (
        "key",
        "manufacturing",
        Decimal("12000.00"),
        org.rep_a1,
    )
    assert Customer.objects.get(external_id="C3").owner == org.mgr_a  # empty owner → the importer
    updated_at = c1.updated_at
    audits = AuditEvent.objects.exclude(kind="security").count()
    second = do_import("customers", CUSTOMERS, org.mgr_a)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 3)
    c1.refresh_from_db()
    assert c1.updated_at == updated_at
    assert AuditEvent.objects.exclude(kind="security").count() == audits
    changed = [row[:] for row in CUSTOMERS]
    changed[2][4] = "金融"
    third = do_import("customers", changed, org.mgr_a)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 2)
    assert Customer.objects.get(external_id="C2").industry == "finance"


def test_gbk_and_bom_csv_and_xlsx(org, do_import):
    assert do_import("customers", CUSTOMERS, org.mgr_a, encoding="gbk").created == 3
    assert do_import("customers", CUSTOMERS, org.mgr_a, encoding="utf-8-sig").unchanged == 3
    assert do_import("customers", CUSTOMERS, org.mgr_a, fmt="xlsx").unchanged == 3


def test_dry_run_writes_nothing_but_counts(org, do_import):
    result = do_import("customers", CUSTOMERS, org.mgr_a, dry_run=True)
    assert (result.created, result.committed) == (3, False)
    assert Customer.objects.count() == 0


def test_all_or_nothing_rollback(org, do_import, tmp_path):
    do_import("customers", CUSTOMERS, org.mgr_a)
    bad = [
        *ORDERS[:3],
        ["HT-009", "NOPE", "rep_a1", "2025-03-01", "5", ""],
        ["HT-010", "C1", "rep_a1", "soon", "(300)", ""],
    ]
    result = do_import("orders", bad, org.mgr_a)
    assert (result.created, result.rejected, result.committed) == (2, 2, False)
    assert Order.objects.count() == 0 and Payment.objects.count() == 0
    rows = list(csv.reader((tmp_path / "rejected.csv").open(encoding="utf-8")))
    assert rows[0][:3] == ["Row", "Reason", "合同编号"]
    assert rows[1][0] == "4" and "Customer NOPE not found" in rows[1][1]
    assert rows[2][0] == "5" and "Signed on" in rows[2][1] and "not a date" in rows[2][1]


def test_valid_rows_only(org, do_import, tmp_path):
    do_import("customers", CUSTOMERS, org.mgr_a)
    bad = [*ORDERS[:3], ["HT-009", "NOPE", "rep_a1", "2025-03-01", "5", ""]]
    result = do_import("orders", bad, org.mgr_a, valid_rows_only=True)
    assert (result.created, result.rejected, result.committed) == (2, 1, True)
    assert set(Order.objects.values_list("number", flat=True)) == {"HT-001", "HT-002"}
    rows = list(csv.reader((tmp_path / "rejected.csv").open(encoding="utf-8")))
    assert len(rows) == 2 and rows[1][2:] == ["HT-009", "NOPE", "rep_a1", "2025-03-01", "5", ""]


def test_missing_exchange_rate_rejects_the_row(org, do_import):
    do_import("customers", CUSTOMERS, org.mgr_a)
    result = do_import("orders", ORDERS, org.mgr_a)
    assert result.rejected == 1 and "No exchange rate for USD" in result.samples[0]["reason"]


@pytest.mark.parametrize("bulk", [True, False])
def test_orders_and_payments_reimport_is_idempotent(org, do_import, bulk):
    ExchangeRate.objects.create(currency="USD", valid_from=date(2025, 1, 1), rate=Decimal("7.1"))
    do_import("customers", CUSTOMERS, org.mgr_a)
    assert do_import("orders", ORDERS, org.mgr_a, bulk=bulk).created == 3
    assert Order.objects.get(number="HT-003").amount_base == Decimal("7100.00")
    again = do_import("orders", ORDERS, org.mgr_a, bulk=bulk)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    payments = [
        ["回款编号", "合同编号", "回款日期", "回款金额"],
        ["P1", "HT-001", "2025-04-01", "1000"],
        ["", "HT-002", "2025/4/2", "5000"],
    ]
    assert do_import("payments", payments, org.mgr_a, bulk=bulk).created == 2
    again = do_import("payments", payments, org.mgr_a, bulk=bulk)
    assert (again.created, again.unchanged) == (0, 2)


def _rows(model, exclude=("id", "created_at", "updated_at")):
    return sorted(
        tuple(sorted((k, v) for k, v in model_to_dict(o).items() if k not in exclude))
        for o in model.objects.all()
    )


def _rows_of(obj):
    return tuple(
        sorted(
            (k, v)
            for k, v in model_to_dict(obj).items()
            if k not in {"id", "created_at", "updated_at", "order"}
        )
    )


def test_bulk_path_writes_exactly_what_the_services_write(org, do_import):
    ExchangeRate.objects.create(
        currency="USD", valid_from=date(2025, 1, 1), rate=Decimal("7.12345678")
    )
    do_import("customers", CUSTOMERS, org.mgr_a)
    orders = [
        *ORDERS,
        ["HT-004", "C2", "rep_a2", "45723", "(0)", "USD"],
        ["HT-005", "C2", "", "2025-03-10", "3.333", "USD"],
    ]
    payments = [
        ["回款编号", "合同编号", "回款日期", "回款金额", "币种", "付款方式"],
        ["P1", "HT-001", "2025-04-01", "1000", "", "承兑汇票"],
        ["P2", "HT-003", "2025-04-01", "99.99", "USD", ""],
    ]
    assert do_import("orders", orders, org.mgr_a, bulk=False).created == 5
    assert do_import("payments", payments, org.mgr_a, bulk=False).created == 2
    payment_rows = lambda: sorted((*_rows_of(p), p.order.number) for p in Payment.objects.all())  # noqa: E731
    service_orders, service_payments = _rows(Order), payment_rows()
    assert AuditEvent.objects.filter(action="order.create").count() == 5
    assert AuditEvent.objects.filter(action="payment.create").count() == 2
    Payment.objects.all().delete()
    Order.objects.all().delete()
    assert do_import("orders", orders, org.mgr_a, bulk=True).created == 5
    assert do_import("payments", payments, org.mgr_a, bulk=True).created == 2
    assert _rows(Order) == service_orders
    assert payment_rows() == service_payments
    # the bulk path audits each batch once, with the ids it created
    for action, model in (("order.import", Order), ("payment.import", Payment)):
        (event,) = AuditEvent.objects.filter(action=action)
        assert event.actor_id == org.mgr_a.user_id
        ids = [pk for first, last in event.changes["ids"] for pk in range(first, last + 1)]
        assert event.changes["created"] == len(ids)
        assert ids == sorted(model.objects.values_list("pk", flat=True))


def test_duplicate_rows_in_one_file(org, do_import):
    do_import("customers", CUSTOMERS, org.mgr_a)
    result = do_import("orders", [*ORDERS[:2], ORDERS[1]], org.mgr_a)
    assert result.rejected == 1 and "more than once" in result.samples[0]["reason"]


def test_rep_imports_only_their_own_records(org, do_import):
    result = do_import("customers", CUSTOMERS, org.rep_a1)
    assert result.rejected == 1 and not result.committed
    assert "only records you own" in result.samples[0]["reason"]
    assert Customer.objects.count() == 0
    result = do_import("customers", CUSTOMERS, org.rep_a1, valid_rows_only=True)
    assert result.created == 2
    assert set(Customer.objects.values_list("owner__user__username", flat=True)) == {"rep_a1"}


def test_manager_within_subtree_and_hidden_customers_are_not_found(org, do_import):
    result = do_import("customers", [["客户名称", "负责人"], ["西部客户", "rep_w1"]], org.mgr_a)
    assert result.rejected == 1 and "outside your team" in result.samples[0]["reason"]
    hidden = f.customer(org.rep_w1, name="West Co", external_id="W1")
    result = do_import(
        "orders", [ORDERS[0][:5], ["HT-100", "W1", "", "2025-01-01", "5"]], org.mgr_a
    )
    assert result.rejected == 1 and result.samples[0]["reason"] == "Customer W1 not found."
    result = do_import("customers", [["客户编号", "客户名称"], ["W1", "Renamed"]], org.mgr_a)
    assert result.rejected == 1 and "West Co" not in result.samples[0]["reason"]
    hidden.refresh_from_db()
    assert hidden.name == "West Co"


def test_viewer_cannot_import(org, do_import):
    result = do_import("customers", CUSTOMERS, org.viewer_a)
    assert result.created == 0 and not result.committed


def test_opportunities_with_stage_history(org, do_import):
    do_import("customers", CUSTOMERS, org.mgr_a)
    rows = [
        [
            "商机编号",
            "商机名称",
            "客户编号",
            "负责人",
            "预计金额",
            "预计成交日期",
            "阶段",
            "阶段历史",
        ],
        [
            "O1",
            "机电改造",
            "C1",
            "rep_a1",
            "50万",
            "2025-06-30",
            "赢单",
            "2025-01-05 初步接洽; 2025-02-10 方案报价；2025-03-01 Won",
        ],
        ["O2", "云平台", "C2", "rep_a2", "8000", "2025-07-31", "Proposal", ""],
    ]
    result = do_import("opportunities", rows, org.mgr_a)
    assert (result.error, result.created, result.rejected) == ("", 2, 0), result.samples
    o1 = Opportunity.objects.get(external_id="O1")
    changes = list(
        StageChange.objects.filter(opportunity=o1)
        .order_by("changed_at")
        .values_list("to_stage__name", flat=True)
    )
    # the pipeline was made in English (the tests' install language): its default stages are
    # read by their Chinese names too
    assert changes == ["Prospecting", "Proposal", "Won"]
    assert o1.closed_at is not None and o1.amount == Decimal("500000.00")
    again = do_import("opportunities", rows, org.mgr_a)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    moved = [r[:] for r in rows]
    moved[2][6] = "商务谈判"
    assert do_import("opportunities", moved, org.mgr_a).updated == 1
    assert StageChange.objects.filter(opportunity__external_id="O2").count() == 2


def test_contacts_leads_activities(org, do_import):
    do_import("customers", CUSTOMERS, org.mgr_a)
    contacts = [
        ["客户名称", "联系人", "职位", "手机", "主联系人"],
        ["上海华东机电", "王经理", "采购经理", "13800000000", "是"],
    ]
    assert do_import("contacts", contacts, org.mgr_a).created == 1
    assert do_import("contacts", contacts, org.mgr_a).unchanged == 1
    leads = [
        ["线索编号", "联系人", "公司名称", "来源", "负责人"],
        ["L1", "李雷", "某某科技", "展会", "rep_a1"],
    ]
    assert do_import("leads", leads, org.mgr_a).created == 1
    assert do_import("leads", leads, org.mgr_a).unchanged == 1
    acts = [
        ["客户编号", "负责人", "跟进方式", "主题", "跟进时间", "下次跟进日期"],
        ["C1", "rep_a1", "拜访", "上门演示", "2025-03-07 10:00", "2025-03-14"],
    ]
    assert do_import("activities", acts, org.mgr_a).created == 1
    assert do_import("activities", acts, org.mgr_a).unchanged == 1


def test_members_only_for_company_wide_roles(org, do_import):
    rows = [
        ["用户名", "姓名", "部门", "角色", "工号"],
        ["rep_new", "张三", "East/Team A", "销售", "E100"],
    ]
    assert "Only an admin" in do_import("members", rows, org.mgr_a).error
    result = do_import("members", rows, org.director)
    assert result.created == 1, result.samples
    assert do_import("members", rows, org.director).unchanged == 1


def test_targets_into_the_draft_plan(org, do_import):
    from salesloop.targets.models import Target

    rows = [
        ["负责人", "指标", "财年", "底线", "目标", "挑战"],
        ["rep_a1", "booked_revenue", "2026", "80万", "100万", "120万"],
    ]
    result = do_import("targets", rows, org.director)
    assert (result.error, result.rejected) == ("", 0), result.samples
    target = Target.objects.get(member=org.rep_a1, plan__fiscal_year=2026)
    assert (target.floor, target.target, target.stretch) == (
        Decimal("800000"),
        Decimal("1000000"),
        Decimal("1200000"),
    )
    again = do_import("targets", rows, org.director)
    assert (again.created, again.updated) == (0, 0)
    assert "Only managers" in do_import("targets", rows, org.rep_a1).error


def test_import_command_exits_non_zero_with_reasons(org, tmp_path, capsys):
    from django.core.management import CommandError, call_command

    from tests.dataio.conftest import write_csv

    path = write_csv(tmp_path / "c.csv", [*CUSTOMERS, ["C9", "", "", "", "", ""]])
    with pytest.raises(CommandError) as info:
        call_command("import", str(path), "--kind", "customers", "--user", "mgr_a")
    assert info.value.returncode == 2
    assert "Name is required" in capsys.readouterr().err
    assert Customer.objects.count() == 0
    with pytest.raises(
        CommandError
    ):  # the valid rows are imported, and the exit still says some were not
        call_command(
            "import", str(path), "--kind", "customers", "--user", "mgr_a", "--valid-rows-only"
        )
    assert Customer.objects.count() == 3
