"""A refused row says everything that is wrong with it at once — every bad cell, left to right,
each under its column's name, choices named as the reader names them (never the stored codes), a service's
refusal under the column it is about — in the reader's language; and nothing is written."""

from __future__ import annotations

import csv

import pytest
from django.utils import translation

from salesloop.customers.models import Contact, Customer
from salesloop.orders.models import Order, Payment
from tests.dataio.test_import import CUSTOMERS, ORDERS

pytestmark = pytest.mark.django_db

CUSTOMER_HEAD = ["客户编号", "客户名称", "负责人", "客户等级", "行业", "年潜力"]


def reason(result, at: int = 0) -> str:
    return result.samples[at]["reason"]


def test_a_row_with_five_bad_cells_names_all_five_and_writes_nothing(org, do_import, tmp_path):
    rows = [CUSTOMER_HEAD, ["C9", "", "nobody", "钻石", "火星业", "很多"]]
    result = do_import("customers", rows, org.director)
    assert (result.rejected, result.created, result.committed) == (1, 0, False)
    # left to right, as the columns are: those that cannot be read among those looked up
    assert reason(result) == (
        "Name is required. "
        "No member is called nobody. "
        "Tier: 钻石 is not one of: Key account, Tier A, Tier B, Tier C. "
        "Industry: 火星业 is not one of: Manufacturing, Retail, IT & software, Healthcare, "
        "Education, Finance, Logistics, Construction, Energy, Other. "
        "Annual potential: 很多 is not a number."
    )
    assert Customer.objects.count() == 0
    # the rejects file carries the same whole reason beside the row as it was typed
    lines = list(csv.reader((tmp_path / "rejected.csv").open(encoding="utf-8")))
    assert lines[1][1] == reason(result) and lines[1][2:] == rows[1]


def test_the_reader_reads_the_reasons_in_chinese_with_chinese_choices(org, do_import):
    rows = [CUSTOMER_HEAD, ["C9", "上海华东机电", "rep_a1", "钻石", "IT", "1万"]]
    with translation.override("zh-hans"):
        result = do_import("customers", rows, org.director)
    # the column's name, a full-width colon, and the tiers as a Chinese user names them
    assert reason(result) == "客户等级：钻石 不是以下选项之一：重点客户、A 类、B 类、C 类。"
    assert "key" not in reason(result)
    # several: one sentence after the other as Chinese is written (no space after 。)
    rows[1][1] = ""
    with translation.override("zh-hans"):
        result = do_import("customers", rows, org.director)
    assert reason(result) == (
        "名称为必填项。客户等级：钻石 不是以下选项之一：重点客户、A 类、B 类、C 类。"
    )


def test_a_row_refused_for_its_owner_also_names_its_bad_choice(org, do_import):
    """The owner is looked up when the row is written; the refusal still names the tier."""
    rows = [CUSTOMER_HEAD, ["C9", "上海华东机电", "nobody", "钻石", "IT", ""]]
    result = do_import("customers", rows, org.director)
    assert reason(result) == (
        "No member is called nobody. Tier: 钻石 is not one of: Key account, Tier A, Tier B, Tier C."
    )


@pytest.mark.parametrize("bulk", [True, False])
def test_an_order_row_names_its_customer_owner_amount_currency_and_status(org, do_import, bulk):
    do_import("customers", CUSTOMERS, org.mgr_a)
    rows = [
        [*ORDERS[0], "合同状态"],
        [*ORDERS[1], ""],
        ["HT-9", "NOPE", "nobody", "2025-03-01", "(300)", "XYZ", "半成"],
    ]
    result = do_import("orders", rows, org.mgr_a, bulk=bulk)
    assert (result.rejected, result.committed) == (1, False)
    assert reason(result) == (
        "Customer NOPE not found. No member is called nobody. The amount cannot be negative. "
        "Unknown currency XYZ. Status: 半成 is not one of: Active, Cancelled."
    )
    assert Order.objects.count() == 0


def test_a_payment_with_a_bad_date_still_finds_its_order(org, do_import):
    """A row refused while it is read is checked against the real orders: its order is found
    (not reported missing), its amount and the unknown order of the next row are named."""
    do_import("customers", CUSTOMERS, org.mgr_a)
    assert do_import("orders", ORDERS[:3], org.mgr_a).created == 2
    rows = [
        ["合同编号", "回款日期", "回款金额"],
        ["HT-001", "2025-13-01", "0"],
        ["NOPE", "later", "100"],
    ]
    result = do_import("payments", rows, org.mgr_a)
    assert reason(result, 0) == (
        "Paid on: 2025-13-01 is not a real date. A payment must be more than zero."
    )
    assert result.rejected == 2, result.samples
    assert reason(result, 1) == (
        "Order NOPE not found. Paid on: later is not a date. Write dates as 2025-03-07, "
        "2025/3/7 or 2025年3月7日."
    )
    assert Payment.objects.count() == 0


def test_a_services_refusal_names_the_columns_not_the_attributes(org, do_import):
    do_import("customers", CUSTOMERS, org.mgr_a)
    rows = [["客户编号", "姓名", "邮箱", "电话"], ["C1", "张三", "not-an-email", "1" * 50]]
    result = do_import("contacts", rows, org.mgr_a)
    assert reason(result) == (
        "Phone: Ensure this value has at most 40 characters (it has 50). "
        "Email: Enter a valid email address."
    )
    with translation.override("zh-hans"):
        result = do_import("contacts", rows, org.mgr_a)
    assert reason(result).startswith("电话：") and "邮件：" in reason(result)
    assert "phone" not in reason(result) and "email" not in reason(result)
    assert Contact.objects.count() == 0


def test_a_target_row_names_its_owner_year_and_metric(org, do_import):
    rows = [
        ["负责人", "指标", "年份", "底线", "目标", "挑战"],
        ["nobody", "利润", "1999", "80", "100", "120"],
    ]
    result = do_import("targets", rows, org.director)
    assert reason(result) == (
        "No member is called nobody. Metric: 利润 is not one of: Booked revenue, Collected "
        "revenue, Deals won, New customers, Opportunities created, Visits, Calls, Meetings, "
        "Activities (all types). 1999 is not a fiscal year."
    )
