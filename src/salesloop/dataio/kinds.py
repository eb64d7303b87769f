"""What can be imported: the kinds, their columns and the header names recognised for each.

Header matching folds case, full-width characters, spaces and punctuation, so "客户 名称",
"Customer Name" and "customer_name" all match. The first column whose header matches a field wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from salesloop.dataio import formats as fmt


@dataclass(frozen=True)
class Column:
    name: str
    label: Promise | str
    synonyms: tuple[str, ...]
    parse: Callable[[Any], Any] | None = None  # None: text
    required: bool = False
    help: Promise | str = ""


@dataclass(frozen=True)
class Kind:
    name: str
    label: Promise | str
    columns: tuple[Column, ...]
    key_help: Promise | str
    bulk: bool = False  # has the fast bulk path for big files
    available: Callable[[], bool] = field(default=lambda: True)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _text(value: Any) -> str:
    return fmt.clean_text(value)


OWNER = Column(
    "owner",
    _("Owner"),
    (
        "负责人",
        "销售",
        "销售员",
        "业务员",
        "客户经理",
        "所属销售",
        "跟进人",
        "owner",
        "salesrep",
        "rep",
        "salesperson",
    ),
    help=_("Username, display name or employee number. Empty: yourself."),
)
CUSTOMER_REF = Column(
    "customer",
    _("Customer"),
    (
        "客户编号",
        "客户代码",
        "客户id",
        "客户名称",
        "客户",
        "customer",
        "customerid",
        "customerno",
        "customername",
        "account",
    ),
    required=True,
    help=_("The customer's external id or its exact name."),
)
CURRENCY = Column(
    "currency",
    _("Currency"),
    ("币种", "货币", "currency"),
    help=_("CNY, USD, EUR, HKD or JPY. Empty: the company currency."),
)
PRODUCT_LINE = Column(
    "product_line",
    _("Product line"),
    ("产品线", "产品类别", "productline"),
    help=_("Name or code of a product line."),
)
EXTERNAL_ID = Column(
    "external_id",
    _("External id"),
    ("外部编号", "外部id", "externalid", "id"),
    help=_(
        "Your system's id for the record: importing again updates it instead of creating a copy."
    ),
)

CUSTOMERS = Kind(
    "customers",
    _("Customers"),
    (
        Column(
            "external_id",
            _("External id"),
            (
                "客户编号",
                "客户代码",
                "客户id",
                "外部编号",
                "externalid",
                "customerid",
                "customerno",
                "customernumber",
                "code",
                "id",
            ),
            help=_(
                "Your system's id for the customer: importing again updates it instead of creating a copy."
            ),
        ),
        Column(
            "name",
            _("Name"),
            (
                "客户名称",
                "客户全称",
                "公司名称",
                "客户",
                "名称",
                "customername",
                "customer",
                "company",
                "name",
            ),
            required=True,
        ),
        OWNER,
        Column(
            "tier",
            _("Tier"),
            ("客户等级", "客户级别", "等级", "级别", "tier", "level", "grade"),
            help=_("Key account (重点客户), A, B or C."),
        ),
        Column("industry", _("Industry"), ("行业", "所属行业", "industry")),
        Column(
            "region",
            _("Region"),
            ("区域", "地区", "省份", "城市", "region", "area", "province", "city"),
        ),
        Column(
            "potential",
            _("Annual potential"),
            ("年潜力", "潜在金额", "潜力", "年采购潜力", "potential", "annualpotential"),
            fmt.parse_money,
        ),
        Column("phone", _("Phone"), ("电话", "联系电话", "公司电话", "phone", "tel", "telephone")),
        Column("address", _("Address"), ("地址", "公司地址", "address")),
        Column("notes", _("Notes"), ("备注", "说明", "notes", "remarks", "comment")),
    ),
    _("Matched by external id, otherwise by exact name."),
)

CONTACTS = Kind(
    "contacts",
    _("Contacts"),
    (
        CUSTOMER_REF,
        Column(
            "name",
            _("Name"),
            ("联系人", "联系人姓名", "姓名", "contact", "contactname", "name"),
            required=True,
        ),
        Column("title", _("Title"), ("职位", "职务", "title", "position", "jobtitle")),
        Column(
            "phone", _("Phone"), ("手机", "电话", "联系电话", "手机号", "phone", "mobile", "tel")
        ),
        Column("email", _("Email"), ("邮箱", "电子邮件", "电子邮箱", "email", "mail")),
        Column(
            "is_primary",
            _("Primary contact"),
            ("主联系人", "首要联系人", "是否主联系人", "primary", "isprimary", "primarycontact"),
            fmt.parse_bool,
        ),
    ),
    _("Matched by customer and contact name."),
)

LEADS = Kind(
    "leads",
    _("Leads"),
    (
        Column(
            "external_id", _("External id"), ("线索编号", "外部编号", "externalid", "leadid", "id")
        ),
        Column(
            "name",
            _("Contact name"),
            ("联系人", "姓名", "线索名称", "线索", "contactname", "lead", "name"),
            required=True,
        ),
        Column(
            "company_name",
            _("Company"),
            ("公司名称", "公司", "单位", "企业名称", "company", "companyname"),
        ),
        Column("phone", _("Phone"), ("手机", "电话", "联系电话", "phone", "mobile", "tel")),
        Column("email", _("Email"), ("邮箱", "电子邮件", "email", "mail")),
        Column("source", _("Source"), ("来源", "线索来源", "渠道", "source", "channel")),
        Column("status", _("Status"), ("状态", "线索状态", "status")),
        OWNER,
    ),
    _("Matched by external id, otherwise by name, company and phone."),
)

OPPORTUNITIES = Kind(
    "opportunities",
    _("Opportunities"),
    (
        Column(
            "external_id",
            _("External id"),
            (
                "商机编号",
                "机会编号",
                "项目编号",
                "外部编号",
                "externalid",
                "opportunityid",
                "dealid",
                "id",
            ),
        ),
        Column(
            "name",
            _("Name"),
            (
                "商机名称",
                "机会名称",
                "项目名称",
                "商机",
                "名称",
                "opportunity",
                "opportunityname",
                "deal",
                "dealname",
                "name",
            ),
            required=True,
        ),
        CUSTOMER_REF,
        OWNER,
        Column(
            "amount",
            _("Amount"),
            ("预计金额", "商机金额", "金额", "预算", "amount", "value", "dealvalue"),
            fmt.parse_money,
            required=True,
        ),
        CURRENCY,
        Column(
            "expected_close",
            _("Expected close"),
            (
                "预计成交日期",
                "预计签约日期",
                "预计结单日期",
                "预计关闭日期",
                "expectedclose",
                "closedate",
                "expectedclosedate",
            ),
            fmt.parse_date,
            required=True,
        ),
        Column(
            "stage",
            _("Stage"),
            ("阶段", "销售阶段", "商机阶段", "stage", "salesstage"),
            help=_("A stage name of the pipeline, in Chinese or English."),
        ),
        PRODUCT_LINE,
        Column("source", _("Source"), ("来源", "商机来源", "source")),
        Column(
            "created_at",
            _("Created on"),
            ("创建日期", "创建时间", "发现日期", "created", "createdat", "createdon"),
            fmt.parse_date_time,
        ),
        Column(
            "stage_history",
            _("Stage history"),
            ("阶段历史", "阶段记录", "阶段变更", "stagehistory"),
            help=_(
                "Date and stage per step, separated by semicolons: 2025-01-05 初步接洽; 2025-02-10 方案报价."
            ),
        ),
        Column("lost_reason", _("Lost reason"), ("输单原因", "丢单原因", "lostreason")),
    ),
    _("Matched by external id, otherwise by customer and name."),
)

ORDERS = Kind(
    "orders",
    _("Orders"),
    (
        Column(
            "number",
            _("Contract number"),
            (
                "合同编号",
                "合同号",
                "订单编号",
                "订单号",
                "contractno",
                "contractnumber",
                "ordernumber",
                "orderno",
                "number",
            ),
            required=True,
        ),
        Column(
            "external_id", _("External id"), ("外部编号", "订单id", "externalid", "orderid", "id")
        ),
        CUSTOMER_REF,
        OWNER,
        Column(
            "signed_on",
            _("Signed on"),
            (
                "签约日期",
                "签订日期",
                "合同日期",
                "下单日期",
                "成交日期",
                "signedon",
                "signeddate",
                "signdate",
                "orderdate",
                "date",
            ),
            fmt.parse_date,
            required=True,
        ),
        Column(
            "amount",
            _("Amount"),
            ("合同金额", "订单金额", "签约金额", "金额", "amount", "total", "value"),
            fmt.parse_money,
            required=True,
        ),
        CURRENCY,
        PRODUCT_LINE,
        Column("opportunity", _("Opportunity"), ("商机编号", "opportunity", "opportunityid")),
        Column("status", _("Status"), ("合同状态", "订单状态", "状态", "status")),
    ),
    _("Matched by contract number (or external id)."),
    bulk=True,
)

PAYMENTS = Kind(
    "payments",
    _("Payments"),
    (
        Column(
            "external_id",
            _("External id"),
            ("回款编号", "收款编号", "流水号", "外部编号", "externalid", "paymentid", "id"),
        ),
        Column(
            "order",
            _("Contract number"),
            (
                "合同编号",
                "合同号",
                "订单编号",
                "订单号",
                "contractno",
                "contractnumber",
                "ordernumber",
                "order",
            ),
            required=True,
        ),
        Column(
            "paid_on",
            _("Paid on"),
            (
                "回款日期",
                "收款日期",
                "到账日期",
                "付款日期",
                "paidon",
                "paymentdate",
                "paiddate",
                "date",
            ),
            fmt.parse_date,
            required=True,
        ),
        Column(
            "amount",
            _("Amount"),
            ("回款金额", "收款金额", "到账金额", "金额", "amount"),
            fmt.parse_money,
            required=True,
        ),
        CURRENCY,
        Column(
            "method",
            _("Method"),
            ("付款方式", "回款方式", "收款方式", "方式", "method", "paymentmethod"),
        ),
    ),
    _("Matched by external id, otherwise by contract number, date and amount."),
    bulk=True,
)

ACTIVITIES = Kind(
    "activities",
    _("Activities"),
    (
        Column(
            "external_id",
            _("External id"),
            ("记录编号", "跟进编号", "外部编号", "externalid", "id"),
        ),
        CUSTOMER_REF,
        OWNER,
        Column(
            "kind",
            _("Type"),
            ("跟进方式", "跟进类型", "类型", "方式", "type", "kind", "activitytype"),
            required=True,
        ),
        Column(
            "subject", _("Subject"), ("主题", "标题", "跟进主题", "subject", "title"), required=True
        ),
        Column(
            "occurred_at",
            _("When"),
            ("跟进时间", "跟进日期", "拜访日期", "日期", "时间", "when", "date", "occurredat"),
            fmt.parse_date_time,
            required=True,
        ),
        Column(
            "duration_minutes",
            _("Duration (minutes)"),
            ("时长", "时长分钟", "持续时间", "duration", "durationminutes", "minutes"),
            fmt.parse_int,
        ),
        Column("outcome", _("Outcome"), ("结果", "跟进结果", "outcome", "result")),
        Column("notes", _("Notes"), ("跟进内容", "内容", "备注", "notes", "content")),
        Column(
            "follow_up_due",
            _("Next follow-up due"),
            (
                "下次跟进日期",
                "下次跟进",
                "下次跟进时间",
                "nextfollowup",
                "followupdue",
                "nextfollowupdue",
            ),
            fmt.parse_date,
        ),
        Column("opportunity", _("Opportunity"), ("商机编号", "opportunity", "opportunityid")),
    ),
    _("Matched by external id, otherwise by owner, customer, time, type and subject."),
)

MEMBERS = Kind(
    "members",
    _("Org members"),
    (
        Column(
            "username",
            _("Username"),
            ("用户名", "账号", "登录名", "username", "login", "account"),
            required=True,
        ),
        Column(
            "display_name",
            _("Name"),
            ("姓名", "名字", "显示名", "displayname", "name", "fullname"),
            required=True,
        ),
        Column(
            "org_unit",
            _("Org unit"),
            (
                "部门",
                "团队",
                "组织",
                "所属部门",
                "所属团队",
                "orgunit",
                "team",
                "unit",
                "department",
            ),
            required=True,
            help=_("Unit name, or its path when names repeat: East/Team A."),
        ),
        Column(
            "role",
            _("Role"),
            ("角色", "role"),
            help=_(
                "admin, director, manager, rep or viewer (or 管理员, 销售总监, 销售经理, 销售, 只读)."
            ),
        ),
        Column("email", _("Email"), ("邮箱", "电子邮件", "email", "mail")),
        Column("title", _("Title"), ("职位", "职务", "title", "jobtitle")),
        Column(
            "hired_on",
            _("Hired on"),
            ("入职日期", "入职时间", "hiredon", "startdate", "hiredate"),
            fmt.parse_date,
        ),
        Column(
            "external_id",
            _("Employee number"),
            ("工号", "员工编号", "员工号", "employeeid", "employeenumber", "externalid"),
        ),
    ),
    _("Matched by username."),
)


def _targets_installed() -> bool:
    return apps.is_installed("salesloop.targets")


TARGETS = Kind(
    "targets",
    _("Targets"),
    (
        Column(
            "owner",
            _("Owner"),
            ("负责人", "销售", "成员", "姓名", "owner", "member", "rep"),
            required=True,
            help=_("The member the target is for: username, display name or employee number."),
        ),
        Column("metric", _("Metric"), ("指标", "考核指标", "metric")),
        Column(
            "fiscal_year",
            _("Fiscal year"),
            ("财年", "年度", "年份", "fiscalyear", "year"),
            fmt.parse_int,
            required=True,
        ),
        Column(
            "floor",
            _("Floor"),
            ("底线", "保底", "底线目标", "floor", "minimum"),
            fmt.parse_decimal,
            required=True,
        ),
        Column(
            "target", _("Target"), ("目标", "目标值", "target"), fmt.parse_decimal, required=True
        ),
        Column(
            "stretch",
            _("Stretch"),
            ("挑战", "挑战目标", "冲刺", "stretch"),
            fmt.parse_decimal,
            required=True,
        ),
        PRODUCT_LINE,
    ),
    _("Matched by fiscal year, owner, metric and product line, in the year's draft plan."),
    available=_targets_installed,
)

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        CUSTOMERS,
        CONTACTS,
        LEADS,
        OPPORTUNITIES,
        ORDERS,
        PAYMENTS,
        ACTIVITIES,
        MEMBERS,
        TARGETS,
    )
}


def available_kinds() -> list[Kind]:
    return [k for k in KINDS.values() if k.available()]


def suggest_mapping(kind: Kind, headers: Iterable[str]) -> dict[str, str]:
    """{header: field} for the headers that match a column's name, label or synonym."""
    by_word: dict[str, str] = {}
    for column in kind.columns:
        for word in (column.name, str(column.label), *column.synonyms):
            by_word.setdefault(fmt.normalise_label(word), column.name)
        from django.utils import translation

        with translation.override("zh-hans"):
            by_word.setdefault(fmt.normalise_label(str(column.label)), column.name)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    headers = list(headers)
    # Exact matches first, in the order of each column's synonyms (客户编号 before 客户名称).
    for column in kind.columns:
        for word in (*column.synonyms, column.name, str(column.label)):
            if column.name in taken:
                break
            key = fmt.normalise_label(word)
            for header in headers:
                if header and header not in mapping and fmt.normalise_label(header) == key:
                    mapping[header] = column.name
                    taken.add(column.name)
                    break
    for header in headers:
        if header and header not in mapping:
            name = by_word.get(fmt.normalise_label(header))
            if name and name not in taken:
                mapping[header] = name
                taken.add(name)
    return mapping
