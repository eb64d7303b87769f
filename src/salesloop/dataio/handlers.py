"""One handler per kind: validate a parsed row, find the record it names, create / update it.

Writes go through the apps' services (audit, validation and stage-change recording stay the same
as in the app). A row whose values equal the stored ones is "unchanged" and nothing is written,
so importing the same file twice changes nothing. Orders and payments also have a bulk path
(:mod:`salesloop.dataio.bulk`) for big files, fed by the same validation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from salesloop.activities.choices import ActivityKind, Outcome
from salesloop.activities.models import Activity
from salesloop.activities.services import activity_log
from salesloop.common.audit import audit_record, diff, snapshot
from salesloop.common.models import AuditEvent
from salesloop.common.money import money
from salesloop.common.words import labelled, listed, sentences
from salesloop.customers.choices import Industry, Tier
from salesloop.customers.models import Contact, Customer
from salesloop.customers.services import contact_create, customer_create, customer_update
from salesloop.dataio.bulk import (
    NewOrders,
    Target,
    Writer,
    deferred_foreign_keys,
    existing_ids,
    insert_orders,
)
from salesloop.dataio.context import Context, RowError
from salesloop.dataio.formats import (
    CellError,
    ChoiceParser,
    clean_text,
    parse_date_time,
)
from salesloop.dataio.kinds import Kind
from salesloop.orders.choices import OrderStatus, PaymentMethod
from salesloop.orders.models import Order, Payment
from salesloop.orders.services import (
    first_orders_refresh,
    order_create,
    order_update,
    payment_create,
)
from salesloop.org.choices import COMPANY_WIDE_ROLES, Role
from salesloop.org.models import Member
from salesloop.org.services import member_create, member_set_role
from salesloop.org.visibility import visible
from salesloop.pipeline.choices import LeadStatus, LostReason, Source
from salesloop.pipeline.models import Lead, Opportunity, Stage
from salesloop.pipeline.services import (
    default_stage_names,
    lead_create,
    opportunity_create,
    opportunity_move_stage,
    opportunity_update,
    pipeline_default,
)

Row = dict[str, Any]


def _error_text(
    error: ValidationError | PermissionDenied, model: Any = None, kind: Kind | None = None
) -> str:
    """A service's refusal as the row's reason: each field named as the user knows it (the
    file's column label, else the model field's name, in the reader's language; never the
    attribute), the messages in full."""
    if isinstance(error, PermissionDenied):
        return str(error) or _("You may not change this record.")
    if hasattr(error, "error_dict"):
        return sentences(
            labelled(_field_label(field, model, kind), sentences(msgs))
            if field != "__all__"
            else sentences(msgs)
            for field, msgs in error.message_dict.items()
        )
    return sentences(error.messages)


def _field_label(field: str, model: Any, kind: Kind | None) -> Any:
    column = next((c for c in kind.columns if c.name == field), None) if kind else None
    if column is not None:
        return column.label
    try:
        return str(model._meta.get_field(field).verbose_name).capitalize()
    except (AttributeError, FieldDoesNotExist):  # no model, or a key that is not a field
        return field.replace("_", " ").capitalize()


def _choice(parser: ChoiceParser, value: Any, default: str, label: Any) -> str:
    """A choice cell read by ``parser`` (``default`` when blank); refused with its column's
    ``label`` and the choices as the reader names them."""
    if value is None or clean_text(value) == "":
        return default
    try:
        return parser(value)
    except CellError as exc:
        raise RowError(labelled(label, exc)) from exc


Check = Callable[[Any], object]


def _limits(**spec: tuple[int, str]) -> dict[str, Check]:
    """Cell checks for text columns with a length limit: column → (length, label msgid)."""
    return {
        name: (lambda v, n=n, label=label: _limit(clean_text(v), n, label))
        for name, (n, label) in spec.items()
    }


MAX_MONEY = Decimal("99999999999999.99")


def _amount(value: Decimal) -> Decimal:
    """An amount of an order or opportunity: not negative, and one the database can hold."""
    if value < 0:
        raise RowError(_("The amount cannot be negative."))
    if value > MAX_MONEY:
        raise RowError(_("The amount is too large."))
    return value


def _payment(value: Decimal) -> Decimal:
    if value <= 0:
        raise RowError(_("A payment must be more than zero."))
    if value > MAX_MONEY:
        raise RowError(_("The amount is too large."))
    return value


def _limit(value: str | None, length: int, label: str) -> str | None:
    if value is not None and len(value) > length:
        # ``label`` is the column label's msgid (declared with gettext_lazy in kinds.py)
        raise RowError(
            _("%(field)s is longer than %(n)s characters.") % {"field": _(label), "n": length}
        )
    return value


class Handler:
    """The correct, general path: one service call per changed row."""

    model: type = Customer
    bulk_capable = False

    def __init__(self, kind: Kind, ctx: Context, *, bulk: bool = False):
        self.kind = kind
        self.ctx = ctx
        self.bulk = bulk and self.bulk_capable
        self.baseline = self.model.objects.aggregate(m=Max("pk"))["m"] or 0
        self.touched: set[int] = set()

    def prepare(self, rows: list[tuple[int, Row]]) -> None:
        """Batch look-ups for one chunk of rows."""

    def error_text(self, error: ValidationError | PermissionDenied) -> str:
        """A service's refusal of a row, its fields named by this kind's column labels."""
        return _error_text(error, self.model, self.kind)

    def cell_checks(self) -> dict[str, Check]:
        """How this kind reads its looked-up, coded and length-limited cells (owner, customer,
        choices…), column by column. When a row is refused each is tried, so that its message
        names every bad cell at once rather than the first one met."""
        return {}

    def cell_errors(self, row: Row) -> list[tuple[int, str]]:
        """The messages of the row's bad cells among :meth:`cell_checks` (reads only), each
        with its column's position."""
        out = []
        checks = self.cell_checks()
        for position, column in enumerate(self.kind.columns):
            read = checks.get(column.name)
            if read is None:
                continue
            value = row.get(column.name)
            if value is None or clean_text(value) == "":
                continue
            try:
                read(value)
            except RowError as exc:
                out.append((position, exc.message))
            except (ValidationError, PermissionDenied) as exc:
                out.append((position, self.error_text(exc)))
        return out

    def choices(self, **parsers: ChoiceParser) -> dict[str, Check]:
        """Cell checks for choice columns (the default does not matter: blanks are skipped)."""
        return {
            name: (lambda v, name=name, parser=parser: self.choice(name, parser, v, ""))
            for name, parser in parsers.items()
        }

    def choice(self, name: str, parser: ChoiceParser, value: Any, default: str) -> str:
        """The choice in column ``name`` (refused under the column's label)."""
        return _choice(parser, value, default, self.kind.column(name).label)

    def handle(self, number: int, row: Row) -> str:
        raise NotImplementedError

    def flush(self) -> None:
        """Write what was queued for the chunk (bulk path)."""

    def overlap_writes(self) -> None:
        """Let the bulk writes of a chunk run while the next chunk is read (no savepoints)."""

    def finish(self) -> None:
        """Write what is still queued (the end of the file)."""

    def close(self) -> None:
        """Stop any background work (always called, also when the import fails)."""

    def check_once(self, pk: int) -> None:
        """A record created or changed by an earlier row of this file: the file names it twice."""
        if pk > self.baseline or pk in self.touched:
            raise RowError(_("This record appears more than once in the file."))
        self.touched.add(pk)

    def visible_existing(self, obj: Any, owner_id: int) -> Any:
        """An existing record the importer may not see answers like a missing one."""
        if not self.ctx.owner_pk_visible(owner_id):
            raise RowError(_("This id is already used by a record you cannot see; use another id."))
        return obj


TIER = ChoiceParser(
    Tier.choices,
    {
        "重点": "key",
        "重点客户": "key",
        "ka": "key",
        "key": "key",
        "vip": "key",
        "a类": "a",
        "b类": "b",
        "c类": "c",
        "a级": "a",
        "b级": "b",
        "c级": "c",
    },
)
INDUSTRY = ChoiceParser(
    Industry.choices,
    {
        "制造": "manufacturing",
        "零售": "retail",
        "it": "it",
        "软件": "it",
        "互联网": "it",
        "医疗": "healthcare",
        "医药": "healthcare",
        "教育": "education",
        "金融": "finance",
        "物流": "logistics",
        "建筑": "construction",
        "能源": "energy",
        "其他": "other",
        "其它": "other",
    },
)


class CustomerHandler(Handler):
    model = Customer
    FIELDS = (
        "name",
        "owner",
        "tier",
        "industry",
        "region",
        "potential",
        "phone",
        "address",
        "notes",
    )

    def prepare(self, rows: list[tuple[int, Row]]) -> None:
        self.ctx.prefetch_customers(r.get("external_id") for _n, r in rows)

    def _existing(self, row: Row) -> Customer | None:
        ext = row.get("external_id")
        if ext:
            customer = Customer.objects.filter(external_id=ext).first()
            if customer is not None:
                return self.visible_existing(customer, customer.owner_id)
            return None
        matches = list(visible(Customer.objects.filter(name=row["name"]), user=self.ctx.user)[:2])
        if len(matches) > 1:
            raise RowError(
                _("Several customers are named %(name)s: add an external id column.")
                % {"name": row["name"]}
            )
        return matches[0] if matches else None

    def cell_checks(self) -> dict[str, Check]:
        return {
            "owner": self.ctx.owner,
            **self.choices(tier=TIER, industry=INDUSTRY),
            **_limits(
                name=(200, "Name"),
                region=(64, "Region"),
                phone=(40, "Phone"),
                address=(255, "Address"),
                external_id=(64, "External id"),
            ),
        }

    def handle(self, number: int, row: Row) -> str:
        values = {
            "name": _limit(row["name"], 200, "Name"),
            "owner": self.ctx.owner(row.get("owner")),
            "tier": self.choice("tier", TIER, row.get("tier"), Tier.C),
            "industry": self.choice("industry", INDUSTRY, row.get("industry"), Industry.OTHER),
            "region": _limit(row.get("region") or "", 64, "Region"),
            "potential": row.get("potential")
            if row.get("potential") is not None
            else Decimal("0.00"),
            "phone": _limit(row.get("phone") or "", 40, "Phone"),
            "address": _limit(row.get("address") or "", 255, "Address"),
            "notes": row.get("notes") or "",
        }
        ext = _limit(row.get("external_id") or None, 64, "External id")
        existing = self._existing(row)
        if existing is None:
            customer = customer_create(external_id=ext, actor=self.ctx.user, **values)
            self.ctx.remember_customer(customer)
            return "created"
        self.check_once(existing.pk)
        if row.get("owner") is None:
            values.pop("owner")  # an empty owner keeps the current one on update
        for optional in ("tier", "industry", "potential", "region", "phone", "address", "notes"):
            if row.get(optional) is None:
                values.pop(optional)
        changed = {k: v for k, v in values.items() if getattr(existing, k) != v}
        if not changed:
            return "unchanged"
        customer_update(customer=existing, actor=self.ctx.user, **changed)
        return "updated"


class ContactHandler(Handler):
    model = Contact

    def prepare(self, rows: list[tuple[int, Row]]) -> None:
        self.ctx.prefetch_customers(r.get("customer") for _n, r in rows)

    def cell_checks(self) -> dict[str, Check]:
        return {"customer": self.ctx.customer_ref, **_limits(name=(120, "Name"))}

    def handle(self, number: int, row: Row) -> str:
        customer_pk, owner_id = self.ctx.customer_ref(row["customer"])
        if owner_id not in self.ctx.assignable:
            raise RowError(_("You may not change the contacts of this customer."))
        name = _limit(row["name"], 120, "Name")
        fields = {
            "title": row.get("title"),
            "phone": row.get("phone"),
            "email": row.get("email"),
            "is_primary": row.get("is_primary"),
        }
        fields = {k: v for k, v in fields.items() if v is not None}
        existing = Contact.objects.filter(customer_id=customer_pk, name=name).first()
        if existing is None:
            contact_create(customer=Customer.objects.get(pk=customer_pk), name=name, **fields)
            return "created"
        self.check_once(existing.pk)
        changed = {k: v for k, v in fields.items() if getattr(existing, k) != v}
        if not changed:
            return "unchanged"
        for key, value in changed.items():
            setattr(existing, key, value)
        existing.full_clean()
        if changed.get("is_primary"):
            Contact.objects.filter(customer_id=customer_pk, is_primary=True).update(
                is_primary=False
            )
        existing.save()
        return "updated"


SOURCE = ChoiceParser(
    Source.choices,
    {
        "转介绍": "referral",
        "推荐": "referral",
        "官网": "website",
        "网站": "website",
        "展会": "exhibition",
        "电话": "cold_call",
        "陌拜": "cold_call",
        "渠道": "partner",
        "合作伙伴": "partner",
        "广告": "advertising",
        "老客户": "existing",
        "其他": "other",
    },
)
LEAD_STATUS = ChoiceParser(
    [c for c in LeadStatus.choices if c[0] != LeadStatus.CONVERTED],
    {
        "新建": "new",
        "新线索": "new",
        "已联系": "contacted",
        "已确认": "qualified",
        "无效": "disqualified",
    },
)


class LeadHandler(Handler):
    model = Lead

    def cell_checks(self) -> dict[str, Check]:
        return {
            "owner": self.ctx.owner,
            **self.choices(source=SOURCE, status=LEAD_STATUS),
            **_limits(
                name=(120, "Contact name"),
                company_name=(200, "Company"),
                phone=(40, "Phone"),
                external_id=(64, "External id"),
            ),
        }

    def handle(self, number: int, row: Row) -> str:
        owner = self.ctx.owner(row.get("owner"))
        ext = _limit(row.get("external_id") or None, 64, "External id")
        values = {
            "name": _limit(row["name"], 120, "Contact name"),
            "company_name": _limit(row.get("company_name") or "", 200, "Company"),
            "phone": _limit(row.get("phone") or "", 40, "Phone"),
            "email": row.get("email") or "",
            "source": self.choice("source", SOURCE, row.get("source"), Source.OTHER),
        }
        status = self.choice("status", LEAD_STATUS, row.get("status"), LeadStatus.NEW)
        if ext:
            existing = Lead.objects.filter(external_id=ext).first()
            if existing is not None:
                self.visible_existing(existing, existing.owner_id)
        else:
            existing = visible(
                Lead.objects.filter(
                    name=values["name"], company_name=values["company_name"], phone=values["phone"]
                ),
                user=self.ctx.user,
            ).first()
        if existing is None:
            lead = lead_create(owner=owner, external_id=ext, actor=self.ctx.user, **values)
            if status != LeadStatus.NEW:
                Lead.objects.filter(pk=lead.pk).update(status=status)
            return "created"
        self.check_once(existing.pk)
        if existing.status == LeadStatus.CONVERTED:
            return "unchanged"
        values["status"] = status if row.get("status") is not None else existing.status
        if row.get("owner") is not None:
            values["owner"] = owner
        changed = {k: v for k, v in values.items() if getattr(existing, k) != v}
        if not changed:
            return "unchanged"
        for key, value in changed.items():
            setattr(existing, key, value)
        existing.full_clean()
        existing.save()
        return "updated"


LOST_REASON = ChoiceParser(
    LostReason.choices,
    {"价格": "price", "竞争对手": "competitor", "没有预算": "no_budget", "无预算": "no_budget"},
)
HISTORY_SPLIT = re.compile(r"[;；\n]+")


class OpportunityHandler(Handler):
    model = Opportunity

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.pipeline = pipeline_default()
        self.stages = list(self.pipeline.stages.order_by("order"))

    def prepare(self, rows: list[tuple[int, Row]]) -> None:
        self.ctx.prefetch_customers(r.get("customer") for _n, r in rows)

    def stage(self, raw: Any) -> Stage:
        text = clean_text(raw).casefold()
        exact = [s for s in self.stages if s.name.casefold() == text]
        if not exact:
            exact = [s for s in self.stages if text in s.name.casefold().split()]
        if not exact:  # a default stage by its name in the other language ("Won" for 赢单)
            exact = [
                s
                for s in self.stages
                if text in default_stage_names(s.order)
                and s.name.casefold() in default_stage_names(s.order)
            ]
        if len(exact) != 1:
            raise RowError(
                _("No stage is called %(name)s. Stages: %(stages)s.")
                % {"name": clean_text(raw), "stages": listed(s.name for s in self.stages)}
            )
        return exact[0]

    def history(self, raw: Any) -> list[tuple[datetime, Stage]]:
        steps = []
        for part in HISTORY_SPLIT.split(clean_text(raw)):
            part = part.strip()
            if not part:
                continue
            day_text, _sep, stage_text = part.partition(" ")
            try:
                day, at = parse_date_time(day_text)
            except CellError as exc:
                raise RowError(_("Stage history: %(error)s") % {"error": exc}) from exc
            moment = timezone.make_aware(datetime.combine(day, at or time(9, 0)))
            steps.append((moment, self.stage(stage_text)))
        if any(b[0] < a[0] for a, b in zip(steps, steps[1:], strict=False)):
            raise RowError(_("Stage history: the dates must go forward."))
        return steps

    def cell_checks(self) -> dict[str, Check]:
        return {
            "customer": self.ctx.customer_ref,
            "owner": self.ctx.owner,
            "currency": self.ctx.currency,
            "product_line": self.ctx.product_line,
            "stage": self.stage,
            "stage_history": self.history,
            "amount": _amount,
            **self.choices(source=SOURCE, lost_reason=LOST_REASON),
            **_limits(name=(200, "Name"), external_id=(64, "External id")),
        }

    def handle(self, number: int, row: Row) -> str:
        customer_pk, _owner = self.ctx.customer_ref(row["customer"])
        owner = self.ctx.owner(row.get("owner"))
        _amount(row["amount"])
        ext = _limit(row.get("external_id") or None, 64, "External id")
        currency = self.ctx.currency(row.get("currency"))
        history = self.history(row["stage_history"]) if row.get("stage_history") else []
        stage = self.stage(row["stage"]) if row.get("stage") else None
        if stage is not None and history and history[-1][1] != stage:
            raise RowError(_("The stage differs from the last step of the stage history."))
        lost_reason = self.choice("lost_reason", LOST_REASON, row.get("lost_reason"), "")
        values = {
            "name": _limit(row["name"], 200, "Name"),
            "customer": Customer.objects.get(pk=customer_pk),
            "owner": owner,
            "amount": row["amount"],
            "currency": currency,
            "expected_close": row["expected_close"],
            "product_line": self.ctx.product_line(row.get("product_line")),
            "source": self.choice("source", SOURCE, row.get("source"), Source.OTHER),
        }
        if ext:
            existing = Opportunity.objects.filter(external_id=ext).first()
            if existing is not None:
                self.visible_existing(existing, existing.owner_id)
        else:
            existing = visible(
                Opportunity.objects.filter(customer_id=customer_pk, name=values["name"]),
                user=self.ctx.user,
            ).first()
        if existing is None:
            created = row.get("created_at")
            created_at = (
                timezone.make_aware(datetime.combine(created[0], created[1] or time(9, 0)))
                if created
                else None
            )
            first_stage = history[0][1] if history else stage
            if history:
                created_at = min(created_at, history[0][0]) if created_at else history[0][0]
            opportunity = opportunity_create(
                external_id=ext,
                pipeline=self.pipeline,
                stage=first_stage,
                created_at=created_at,
                actor=self.ctx.user,
                **values,
            )
            for at, step in history[1:]:
                opportunity = opportunity_move_stage(
                    opportunity=opportunity,
                    stage=step,
                    at=at,
                    actor=self.ctx.user,
                    lost_reason=lost_reason,
                )
            return "created"
        self.check_once(existing.pk)
        if row.get("owner") is None:
            values.pop("owner")
        if row.get("currency") is None:
            values["currency"] = existing.currency
        changed = {k: v for k, v in values.items() if getattr(existing, k) != v}
        moved = False
        if changed:
            existing = opportunity_update(opportunity=existing, actor=self.ctx.user, **changed)
        last = existing.stage_entered_at
        for at, step in history:
            if last is not None and at <= last:
                continue  # already recorded
            existing = opportunity_move_stage(
                opportunity=existing,
                stage=step,
                at=at,
                actor=self.ctx.user,
                lost_reason=lost_reason,
            )
            moved = True
        if stage is not None and stage.pk != existing.stage_id:
            opportunity_move_stage(
                opportunity=existing, stage=stage, actor=self.ctx.user, lost_reason=lost_reason
            )
            moved = True
        return "updated" if (changed or moved) else "unchanged"


ORDER_STATUS = ChoiceParser(
    OrderStatus.choices,
    {
        "有效": "active",
        "执行中": "active",
        "正常": "active",
        "已取消": "cancelled",
        "作废": "cancelled",
        "取消": "cancelled",
    },
)
PAYMENT_METHOD = ChoiceParser(
    PaymentMethod.choices,
    {
        "转账": "bank",
        "银行": "bank",
        "电汇": "bank",
        "承兑": "bill",
        "承兑汇票": "bill",
        "汇票": "bill",
        "现金": "cash",
        "其他": "other",
    },
)
_FAILED = object()
OVERLAP_ON_SQLITE = False  # (the tests turn it on: the same code path as on PostgreSQL)


class OrderHandler(Handler):
    model = Order
    bulk_capable = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.by_number: dict[str, Order] = {}
        self.by_external_id: dict[str, Order] = {}
        self.pending_numbers: set[str] = set()
        self.pending_external_ids: set[str] = set()
        self.pending: list[dict[str, Any]] = []
        self.checked: dict[int, dict[str, Any]] = {}
        # Overlapped writes: the new orders of a chunk wait until the next chunk's look-ups are
        # done, then are written in the background ("flying") while that chunk is checked.
        self.writer: Writer | None = None
        self.target: Target | None = None
        self.waiting: list[dict[str, Any]] = []
        self.waiting_batch: NewOrders | None = None
        self.flying_by_number: dict[str, dict[str, Any]] = {}
        self.flying_by_external_id: dict[str, dict[str, Any]] = {}
        self.immediate: list[str] = []
        # the customers whose orders this file adds or changes: their first orders are set
        # again at the end (finish), once for the whole file
        self.customers: set[int] = set()

    def overlap_writes(self) -> None:
        # PostgreSQL works in its own process: the batches are written by a background thread
        # that mostly waits for the server. SQLite works in this process; a second thread
        # there competes with this one for the processor and Python's interpreter lock, and on
        # a busy machine was measured slower (the batches are written in turn instead).
        if not self.bulk or (connection.vendor == "sqlite" and not OVERLAP_ON_SQLITE):
            return
        self.target = Target()
        self.writer = Writer()
        self.ctx.before_query = self.sync
        # PostgreSQL checks the orders' and audit rows' foreign keys at commit, all at once after
        # the last batch; checked at the end of each batch instead, they overlap with the
        # reading too. Set back at the end (see finish).
        self.immediate = deferred_foreign_keys(self.target, [Order, AuditEvent])
        if self.immediate:
            with connection.cursor() as cursor:
                cursor.execute(f"SET CONSTRAINTS {', '.join(self.immediate)} IMMEDIATE")

    def sync(self) -> None:
        """Wait for the batch being written (before the connection is used here)."""
        if self.writer is not None:
            self.writer.wait()

    def _write_waiting(self) -> None:
        """Start writing the orders queued by the last chunk; remember their keys meanwhile."""
        flying, self.waiting = self.waiting, []
        batch, self.waiting_batch = self.waiting_batch, None
        self.flying_by_number = {v["number"]: v for v in flying}
        self.flying_by_external_id = {v["external_id"]: v for v in flying if v["external_id"]}
        if flying and batch is not None and self.writer is not None:
            # The ids are allocated by the job (in the background too): _flying() waits for it
            # before it reads one.
            def assign(ids: list[int]) -> None:
                for values, pk in zip(flying, ids, strict=True):
                    values["pk"] = pk

            self.writer.submit(batch.job(None, assign))

    def finish(self) -> None:
        if self.writer is not None:
            self.sync()
            self._write_waiting()
            self.sync()
            self.flying_by_number, self.flying_by_external_id = {}, {}
            if self.immediate:
                with connection.cursor() as cursor:
                    cursor.execute(f"SET CONSTRAINTS {', '.join(self.immediate)} DEFERRED")
        if self.bulk and self.customers:  # (the row-by-row path went through the services)
            first_orders_refresh(self.customers)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
            self.ctx.before_query = lambda: None

    def prepare(self, rows: list[tuple[int, Row]]) -> None:
        # What needs no query is done before waiting for the batch being written (each query
        # waits for it: ctx.before_query, existing_ids' before_query), so that the connection
        # is idle between two batches only for the look-ups themselves.
        self.ctx.prefetch_customers(r.get("customer") for _n, r in rows)
        numbers = [r["number"] for _n, r in rows if r.get("number")]
        exts = [r["external_id"] for _n, r in rows if r.get("external_id")]
        self.by_number = {}
        self.by_external_id = {}
        found = existing_ids(Order, {"number": numbers, "external_id": exts}, self.sync)
        self.sync()  # (existing_ids queries nothing when there is nothing to look up)
        if found:
            wanted_numbers, wanted_exts = set(numbers), set(exts)
            for order in Order.objects.filter(pk__in=found):
                if order.number in wanted_numbers:
                    self.by_number[order.number] = order
                if order.external_id is not None and order.external_id in wanted_exts:
                    self.by_external_id[order.external_id] = order
        self.pending_numbers = set()
        self.pending_external_ids = set()
        if self.writer is not None:
            # The look-ups are done: the server writes the last chunk's orders while the rows
            # of this one are checked (a check that has to query waits: ctx.before_query).
            self._write_waiting()
        self.checked = self._check(rows)

    def _check(self, rows: list[tuple[int, Row]]) -> dict[int, dict[str, Any]]:
        """What validate() returns, for the rows whose checks all pass, found column by column.

        Keyed by id(row); each distinct cell value is checked once. A row with any failing check
        is left out and goes through validate(), which raises its first failing check.
        """
        ctx = self.ctx
        fail = _FAILED

        def answers(check: Any, values: list[Any]) -> dict[Any, Any]:
            out = {}
            for value in set(values):
                try:
                    out[value] = check(value)
                except RowError:
                    out[value] = fail
            return out

        rows = [(n, r) for n, r in rows if not r.get("opportunity")]  # (a query: row by row)
        customers = answers(ctx.customer_ref, [r["customer"] for _n, r in rows])
        owners = answers(ctx.owner, [r.get("owner") for _n, r in rows])
        currencies = answers(ctx.currency, [r.get("currency") for _n, r in rows])
        lines = answers(ctx.product_line, [r.get("product_line") for _n, r in rows])
        statuses = answers(
            lambda v: self.choice("status", ORDER_STATUS, v, OrderStatus.ACTIVE),
            [r.get("status") for _n, r in rows],
        )
        to_base = ctx.to_base
        checked = {}
        for _n, r in rows:
            number = r["number"]
            external_id = r.get("external_id") or None
            if len(number) > 64 or (external_id is not None and len(external_id) > 64):
                continue
            customer = customers[r["customer"]]
            owner = owners[r.get("owner")]
            currency = currencies[r.get("currency")]
            line = lines[r.get("product_line")]
            status = statuses[r.get("status")]
            if (
                customer is fail
                or owner is fail
                or currency is fail
                or line is fail
                or status is fail
            ):
                continue
            amount = r["amount"]
            if amount < 0 or amount > MAX_MONEY:
                continue
            signed_on = r["signed_on"]
            try:
                amount_base = to_base(amount, currency, signed_on)
            except RowError:
                continue
            checked[id(r)] = {
                "number": number,
                "external_id": external_id,
                "customer_id": customer[0],
                "owner": owner,
                "signed_on": signed_on,
                "amount": amount,
                "currency": currency,
                "amount_base": amount_base,
                "product_line": line,
                "opportunity_id": None,
                "status": status,
            }
        return checked

    def validate(self, row: Row) -> dict[str, Any]:
        ctx = self.ctx
        number = _limit(row["number"], 64, "Contract number")
        customer_pk, _customer_owner = ctx.customer_ref(row["customer"])
        owner = ctx.owner(row.get("owner"))
        amount = _amount(row["amount"])
        currency = ctx.currency(row.get("currency"))
        signed_on: date = row["signed_on"]
        opportunity_id = None
        if row.get("opportunity"):
            self.sync()
            opp = visible(
                Opportunity.objects.filter(external_id=row["opportunity"]), user=ctx.user
            ).first()
            if opp is None:
                raise RowError(_("Opportunity %(id)s not found.") % {"id": row["opportunity"]})
            opportunity_id = opp.pk
        external_id = row.get("external_id") or None
        status = row.get("status")
        return {
            "number": number,
            "external_id": _limit(external_id, 64, "External id"),
            "customer_id": customer_pk,
            "owner": owner,
            "signed_on": signed_on,
            "amount": amount,
            "currency": currency,
            "amount_base": ctx.to_base(amount, currency, signed_on),
            "product_line": ctx.product_line(row.get("product_line")),
            "opportunity_id": opportunity_id,
            "status": OrderStatus.ACTIVE
            if status is None
            else self.choice("status", ORDER_STATUS, status, OrderStatus.ACTIVE),
        }

    def cell_checks(self) -> dict[str, Check]:
        return {
            "customer": self.ctx.customer_ref,
            "owner": self.ctx.owner,
            "currency": self.ctx.currency,
            "product_line": self.ctx.product_line,
            "amount": _amount,
            **self.choices(status=ORDER_STATUS),
            **_limits(number=(64, "Contract number"), external_id=(64, "External id")),
        }

    def handle(self, number: int, row: Row) -> str:
        values = self.checked.pop(id(row), None) or self.validate(row)
        existing: Any = None
        external_id = values["external_id"]
        if external_id:
            existing = self.by_external_id.get(external_id) or self.flying_by_external_id.get(
                external_id
            )
        existing = (
            existing
            or self.by_number.get(values["number"])
            or self.flying_by_number.get(values["number"])
        )
        if existing.__class__ is dict:
            existing = self._flying(existing, values)
        if existing is not None:
            self.visible_existing(existing, existing.owner_id)
            if external_id and existing.external_id not in (None, external_id):
                raise RowError(
                    _("Contract %(n)s already has another external id.") % {"n": values["number"]}
                )
            self.check_once(existing.pk)
            return self.update(existing, values, row)
        if values["number"] in self.pending_numbers or (
            external_id and external_id in self.pending_external_ids
        ):
            raise RowError(_("This record appears more than once in the file."))
        self.pending_numbers.add(values["number"])
        if external_id:
            self.pending_external_ids.add(external_id)
        self.customers.add(values["customer_id"])
        if self.bulk:
            self.pending.append(values)
            return "created"
        order = order_create(
            number=values["number"],
            customer=Customer.objects.get(pk=values["customer_id"]),
            owner=values["owner"],
            signed_on=values["signed_on"],
            amount=values["amount"],
            currency=values["currency"],
            opportunity=Opportunity.objects.get(pk=values["opportunity_id"])
            if values["opportunity_id"]
            else None,
            external_id=values["external_id"],
            actor=self.ctx.user,
        )
        if values["product_line"] is not None:
            Order.objects.filter(pk=order.pk).update(
                product_line=values["product_line"], updated_at=timezone.now()
            )
        if values["status"] != OrderStatus.ACTIVE:
            order_update(order=order, actor=self.ctx.user, status=values["status"])
        return "created"

    def _flying(self, written: dict[str, Any], values: dict[str, Any]) -> Order:
        """An order of the last chunk, being written: what it would be found as, read from it."""
        if not self.ctx.owner_pk_visible(written["owner"].pk):
            raise RowError(_("This id is already used by a record you cannot see; use another id."))
        external_id = values["external_id"]
        if external_id and written["external_id"] not in (None, external_id):
            raise RowError(
                _("Contract %(n)s already has another external id.") % {"n": values["number"]}
            )
        self.sync()  # (its id is given as it is written)
        if written["pk"] > self.baseline or written["pk"] in self.touched:
            raise RowError(_("This record appears more than once in the file."))
        # (an id below the baseline: the sequence lagged; read the order back)
        return Order.objects.get(pk=written["pk"])

    def update(self, existing: Order, values: dict[str, Any], row: Row) -> str:
        self.sync()
        if existing.amount != values["amount"] or existing.currency != values["currency"]:
            raise RowError(
                _(
                    "Contract %(n)s exists with another amount (%(a)s %(c)s): amounts of signed "
                    "orders are not changed by import."
                )
                % {"n": existing.number, "a": existing.amount, "c": existing.currency}
            )
        changes: dict[str, Any] = {}
        self.customers.update((existing.customer_id, values["customer_id"]))
        if existing.customer_id != values["customer_id"]:
            changes["customer"] = Customer.objects.get(pk=values["customer_id"])
        if row.get("owner") is not None and existing.owner_id != values["owner"].pk:
            changes["owner"] = values["owner"]
        if existing.signed_on != values["signed_on"]:
            changes["signed_on"] = values["signed_on"]
        if row.get("status") is not None and existing.status != values["status"]:
            changes["status"] = values["status"]
        extra = {}
        if (
            values["product_line"] is not None
            and existing.product_line_id != values["product_line"].pk
        ):
            extra["product_line"] = values["product_line"]
        if values["external_id"] and existing.external_id != values["external_id"]:
            extra["external_id"] = values["external_id"]
        if not changes and not extra:
            return "unchanged"
        if changes:
            order_update(order=existing, actor=self.ctx.user, **changes)
        if extra:  # (updated_at: the rollup refresh finds the order's day by it)
            Order.objects.filter(pk=existing.pk).update(**extra, updated_at=timezone.now())
        return "updated"

    def flush(self) -> None:
        if self.writer is not None and self.target is not None:
            # converted now, while the last batch is still being written; written after the
            # next chunk's look-ups (see prepare)
            self.waiting, self.pending = self.pending, []
            if self.waiting:
                self.waiting_batch = NewOrders(self.target, self.waiting, self.ctx.user)
            return
        if self.pending:
            insert_orders(self.pending, actor=self.ctx.user)
            self.pending = []


class PaymentHandler(Handler):
    model = Payment
    bulk_capable = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.orders: dict[str, Order | None] = {}
        self.existing: dict[Any, Payment] = {}
        self.pending: list[dict[str, Any]] = []
        self.pending_keys: set[Any] = set()

    def prepare(self, rows: list[tuple[int, Row]]) -> None:
        refs = {r["order"] for _n, r in rows if r.get("order")}
        self.orders = dict.fromkeys(refs)
        found = Order.objects.filter(number__in=refs).only(
            "pk", "number", "external_id", "owner_id", "signed_on", "currency"
        )
        for order in found:
            self.orders[order.number] = order
        missing = [r for r, o in self.orders.items() if o is None]
        if missing:
            for order in Order.objects.filter(external_id__in=missing).only(
                "pk", "number", "external_id", "owner_id", "signed_on", "currency"
            ):
                self.orders[order.external_id] = order
        exts = [r["external_id"] for _n, r in rows if r.get("external_id")]
        self.existing = {}
        if exts:
            for payment in Payment.objects.filter(external_id__in=exts).select_related("order"):
                self.existing[payment.external_id] = payment
        order_ids = [o.pk for o in self.orders.values() if o is not None]
        keyless = [r for _n, r in rows if not r.get("external_id")]
        if keyless and order_ids:
            for payment in Payment.objects.filter(
                order_id__in=order_ids, external_id__isnull=True
            ).select_related("order"):
                self.existing[(payment.order_id, payment.paid_on, payment.amount)] = payment
        self.pending_keys = set()

    def order(self, ref: str) -> Order:
        """The order a payment is for, by number or external id: one the importer may see and
        record payments on."""
        if ref in self.orders:  # the chunk's orders, read in one query by prepare()
            order = self.orders[ref]
        else:  # a refused row's order, checked to name every bad cell
            order = (
                Order.objects.filter(number=ref).first()
                or Order.objects.filter(external_id=ref).first()
            )
        if order is None or not self.ctx.owner_pk_visible(order.owner_id):
            raise RowError(_("Order %(n)s not found.") % {"n": ref})
        if order.owner_id not in self.ctx.assignable:
            raise RowError(_("You may not record payments on order %(n)s.") % {"n": ref})
        return order

    def cell_checks(self) -> dict[str, Check]:
        return {
            "order": self.order,
            "amount": _payment,
            "currency": self.ctx.currency,
            **self.choices(method=PAYMENT_METHOD),
            **_limits(external_id=(64, "External id")),
        }

    def handle(self, number: int, row: Row) -> str:
        order = self.order(row["order"])
        amount = _payment(row["amount"])
        paid_on = row["paid_on"]
        if paid_on < order.signed_on:
            raise RowError(_("A payment cannot be dated before the order was signed."))
        currency = self.ctx.currency(row.get("currency"), default=order.currency)
        values = {
            "order_id": order.pk,
            "order": order,
            "paid_on": paid_on,
            "amount": amount,
            "currency": currency,
            "amount_base": self.ctx.to_base(amount, currency, paid_on),
            "method": self.choice(
                "method", PAYMENT_METHOD, row.get("method"), PaymentMethod.BANK_TRANSFER
            ),
            "external_id": _limit(row.get("external_id") or None, 64, "External id"),
        }
        key: Any = values["external_id"] or (order.pk, paid_on, amount)
        existing = self.existing.get(key)
        if existing is not None:
            self.visible_existing(existing, existing.order.owner_id)
            self.check_once(existing.pk)
            if existing.order_id != order.pk:
                raise RowError(
                    _("Payment %(id)s belongs to another order.") % {"id": values["external_id"]}
                )
            same = (existing.paid_on, existing.amount, existing.currency, existing.method) == (
                paid_on,
                amount,
                currency,
                values["method"],
            )
            if same:
                return "unchanged"
            raise RowError(
                _("Payment %(id)s exists with other values: payments are not changed by import.")
                % {"id": values["external_id"]}
            )
        if key in self.pending_keys:
            raise RowError(_("This record appears more than once in the file."))
        self.pending_keys.add(key)
        if self.bulk:
            self.pending.append(values)
            return "created"
        payment_create(
            order=order,
            paid_on=paid_on,
            amount=amount,
            currency=currency,
            method=values["method"],
            external_id=values["external_id"],
            actor=self.ctx.user,
        )
        return "created"

    def flush(self) -> None:
        if self.pending:
            from salesloop.dataio.bulk import insert_payments

            insert_payments(self.pending, actor=self.ctx.user)
            self.pending = []


ACTIVITY_KIND = ChoiceParser(
    ActivityKind.choices,
    {
        "上门": "visit",
        "面访": "visit",
        "电话": "call",
        "致电": "call",
        "邮件": "email",
        "会议": "meeting",
        "微信": "other",
        "其他": "other",
    },
)
OUTCOME = ChoiceParser(
    Outcome.choices,
    {
        "积极": "positive",
        "好": "positive",
        "一般": "neutral",
        "中性": "neutral",
        "消极": "negative",
        "差": "negative",
        "未接通": "no_answer",
        "无人接听": "no_answer",
    },
)


class ActivityHandler(Handler):
    model = Activity

    def prepare(self, rows: list[tuple[int, Row]]) -> None:
        self.ctx.prefetch_customers(r.get("customer") for _n, r in rows)

    def cell_checks(self) -> dict[str, Check]:
        return {
            "customer": self.ctx.customer_ref,
            "owner": self.ctx.owner,
            **self.choices(kind=ACTIVITY_KIND, outcome=OUTCOME),
            **_limits(subject=(200, "Subject"), external_id=(64, "External id")),
        }

    def handle(self, number: int, row: Row) -> str:
        customer_pk, _owner = self.ctx.customer_ref(row["customer"])
        owner = self.ctx.owner(row.get("owner"))
        day, at = row["occurred_at"]
        occurred_at = timezone.make_aware(datetime.combine(day, at or time(9, 0)))
        kind = self.choice("kind", ACTIVITY_KIND, row["kind"], ActivityKind.OTHER)
        subject = _limit(row["subject"], 200, "Subject")
        ext = _limit(row.get("external_id") or None, 64, "External id")
        opportunity = None
        if row.get("opportunity"):
            opportunity = visible(
                Opportunity.objects.filter(external_id=row["opportunity"]), user=self.ctx.user
            ).first()
            if opportunity is None:
                raise RowError(_("Opportunity %(id)s not found.") % {"id": row["opportunity"]})
        values = {
            "kind": kind,
            "subject": subject,
            "occurred_at": occurred_at,
            "duration_minutes": row.get("duration_minutes") or 0,
            "outcome": self.choice("outcome", OUTCOME, row.get("outcome"), Outcome.NEUTRAL),
            "notes": row.get("notes") or "",
            "follow_up_due": row.get("follow_up_due"),
        }
        if ext:
            existing = Activity.objects.filter(external_id=ext).first()
            if existing is not None:
                self.visible_existing(existing, existing.owner_id)
        else:
            existing = visible(
                Activity.objects.filter(
                    owner=owner,
                    customer_id=customer_pk,
                    occurred_at=occurred_at,
                    kind=kind,
                    subject=subject,
                ),
                user=self.ctx.user,
            ).first()
        if existing is None:
            activity_log(
                owner=owner,
                customer=Customer.objects.get(pk=customer_pk),
                opportunity=opportunity,
                external_id=ext,
                **values,
            )
            return "created"
        self.check_once(existing.pk)
        changed = {k: v for k, v in values.items() if getattr(existing, k) != v}
        if not changed:
            return "unchanged"
        for key, value in changed.items():
            setattr(existing, key, value)
        existing.full_clean()
        existing.save()
        return "updated"


ROLE = ChoiceParser(
    Role.choices,
    {
        "管理员": "admin",
        "总监": "director",
        "经理": "manager",
        "主管": "manager",
        "销售代表": "rep",
        "业务员": "rep",
        "只读": "viewer",
        "查看": "viewer",
    },
)
MEMBER_AUDITED = ("display_name", "title", "org_unit", "hired_on", "external_id")


class MemberHandler(Handler):
    model = Member

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if not (self.ctx.member and self.ctx.member.role in COMPANY_WIDE_ROLES) and not getattr(
            self.ctx.user, "is_superuser", False
        ):
            raise PermissionDenied(_("Only an admin or a sales director can import org members."))

    def cell_checks(self) -> dict[str, Check]:
        return {
            "org_unit": self.ctx.unit,
            **self.choices(role=ROLE),
            **_limits(
                username=(150, "Username"),
                display_name=(120, "Name"),
                external_id=(64, "Employee number"),
            ),
        }

    def handle(self, number: int, row: Row) -> str:
        from django.contrib.auth import get_user_model

        username = _limit(row["username"], 150, "Username")
        role = self.choice("role", ROLE, row.get("role"), Role.REP)
        if role == Role.ADMIN and not getattr(self.ctx.user, "is_superuser", False):
            raise RowError(_("Only an admin can make someone an admin."))
        unit = self.ctx.unit(row["org_unit"])
        values = {
            "display_name": _limit(row["display_name"], 120, "Name"),
            "org_unit": unit,
            "title": row.get("title") or "",
            "hired_on": row.get("hired_on"),
            "external_id": _limit(row.get("external_id") or "", 64, "Employee number"),
        }
        user = get_user_model().objects.filter(username=username).first()
        member = Member.objects.filter(user=user).first() if user else None
        if member is None:
            if user is not None:
                raise RowError(
                    _("The user %(u)s exists but is not a member of the sales org.")
                    % {"u": username}
                )
            member = member_create(
                username=username,
                password=None,
                role=role,
                email=row.get("email") or "",
                actor=self.ctx.user,
                display_name=values["display_name"],
                org_unit=unit,
                title=values["title"],
                hired_on=values["hired_on"],
            )
            if values["external_id"]:
                Member.objects.filter(pk=member.pk).update(external_id=values["external_id"])
            return "created"
        self.check_once(member.pk)
        if row.get("title") is None:
            values.pop("title")
        if row.get("hired_on") is None:
            values.pop("hired_on")
        if row.get("external_id") is None:
            values.pop("external_id")
        changed = {k: v for k, v in values.items() if getattr(member, k) != v}
        role_changed = row.get("role") is not None and member.role != role
        if not changed and not role_changed:
            return "unchanged"
        if changed:
            before = snapshot(member, MEMBER_AUDITED)
            for key, value in changed.items():
                setattr(member, key, value)
            member.full_clean()
            member.save()
            audit_record(
                actor=self.ctx.user,
                action="member.update",
                subject=member,
                changes=diff(before, snapshot(member, MEMBER_AUDITED)),
            )
        if role_changed:
            member_set_role(member=member, role=role, actor=self.ctx.user)
        return "updated"


class TargetHandler(Handler):
    """Targets go into the draft plan of their fiscal year (created when there is none)."""

    def __init__(self, kind: Kind, ctx: Context, *, bulk: bool = False):
        from salesloop.targets.models import Target

        self.model = Target
        super().__init__(kind, ctx, bulk=bulk)
        self.plans: dict[int, Any] = {}
        self._metrics: ChoiceParser | None = None
        if ctx.member is None or ctx.member.role not in (Role.ADMIN, Role.DIRECTOR, Role.MANAGER):
            raise PermissionDenied(_("Only managers, directors and admins can import targets."))

    def plan(self, year: int) -> Any:
        from salesloop.targets.choices import PlanStatus
        from salesloop.targets.models import Plan
        from salesloop.targets.services import plan_create

        if year not in self.plans:
            plan = (
                Plan.objects.filter(fiscal_year=year, status=PlanStatus.DRAFT)
                .order_by("-version")
                .first()
            )
            if plan is None:
                if self.ctx.member is None or self.ctx.member.role not in COMPANY_WIDE_ROLES:
                    raise RowError(
                        _("There is no draft plan for %(y)s; ask your director to start one.")
                        % {"y": year}
                    )
                plan = plan_create(fiscal_year=year, owner=self.ctx.member, actor=self.ctx.user)
            self.plans[year] = plan
        return self.plans[year]

    def metrics(self) -> ChoiceParser:
        from salesloop.targets.choices import Metric

        if self._metrics is None:
            self._metrics = ChoiceParser(
                Metric.choices,
                {
                    "业绩": "booked_revenue",
                    "签约额": "booked_revenue",
                    "合同额": "booked_revenue",
                    "回款": "collected_revenue",
                    "回款额": "collected_revenue",
                },
            )
        return self._metrics

    def owner(self, raw: Any) -> Member:
        """The member the target is for: one the importer may see."""
        member = self.ctx.find_member(raw)
        if not self.ctx.owner_pk_visible(member.pk):
            raise RowError(_("No member is called %(name)s.") % {"name": clean_text(raw)})
        return member

    @staticmethod
    def year(year: int) -> int:
        if not 2000 <= year <= 2100:
            raise RowError(_("%(y)s is not a fiscal year.") % {"y": year})
        return year

    def cell_checks(self) -> dict[str, Check]:
        return {
            "owner": self.owner,
            "fiscal_year": self.year,
            "product_line": self.ctx.product_line,
            **self.choices(metric=self.metrics()),
        }

    def handle(self, number: int, row: Row) -> str:
        from salesloop.targets.choices import Metric
        from salesloop.targets.models import Target
        from salesloop.targets.services import plan_build_tree, target_set

        member = self.owner(row["owner"])
        metric = self.choice("metric", self.metrics(), row.get("metric"), Metric.BOOKED_REVENUE)
        year = self.year(row["fiscal_year"])
        plan = self.plan(year)
        line = self.ctx.product_line(row.get("product_line"))
        target = Target.objects.filter(
            plan=plan, member=member, metric=metric, product_line=line
        ).first()
        if target is None:
            plan_build_tree(plan=plan, metric=metric, product_line=line)
            target = Target.objects.filter(
                plan=plan, member=member, metric=metric, product_line=line
            ).first()
            if target is None:
                raise RowError(
                    _("%(name)s does not carry a quota (only reps and managers do).")
                    % {"name": member.display_name}
                )
            status = "created"
        else:
            status = "updated"
        if target.pk in self.touched:  # plan_build_tree creates many targets at once: track by row
            raise RowError(_("This record appears more than once in the file."))
        self.touched.add(target.pk)
        floor, value, stretch = row["floor"], row["target"], row["stretch"]
        if (target.floor, target.target, target.stretch) == (floor, value, stretch):
            return "unchanged"
        try:
            target_set(
                target=target, floor=floor, target_value=value, stretch=stretch, actor=self.ctx.user
            )
        except (ValidationError, PermissionDenied) as exc:
            raise RowError(self.error_text(exc)) from exc
        return status


HANDLERS: dict[str, type[Handler]] = {
    "customers": CustomerHandler,
    "contacts": ContactHandler,
    "leads": LeadHandler,
    "opportunities": OpportunityHandler,
    "orders": OrderHandler,
    "payments": PaymentHandler,
    "activities": ActivityHandler,
    "members": MemberHandler,
    "targets": TargetHandler,
}


def to_money(value: Decimal) -> Decimal:
    return money(value)
