"""Build (or rebuild) the demo company: wipe, small tables through the services, big ones in bulk."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from salesloop.common.models import AuditEvent
from salesloop.customers.models import Product, ProductLine
from salesloop.customers.services import product_create, product_line_create
from salesloop.demo import loader
from salesloop.demo import profiles as P
from salesloop.demo.calendar import FIRST_YEAR, LAST_YEAR, DayAxis, build_axis
from salesloop.demo.generator import DemoGenerator, Refs
from salesloop.demo.tables import activities, emit, leads
from salesloop.orders.models import ExchangeRate
from salesloop.orders.services import exchange_rate_set, first_orders_refresh
from salesloop.org.choices import UnitKind
from salesloop.org.models import Company, Member, OrgUnit
from salesloop.org.services import member_create, org_unit_create
from salesloop.pipeline.models import Pipeline, Stage
from salesloop.pipeline.services import DEFAULT_STAGES, pipeline_create

MAX_SCALE = 10.0
DEFAULT_SCALE = 0.01
DEMO_LOGINS = ("director", "manager", "rep", "admin", "viewer")
PIPELINE_NAME = "标准销售流程"
BIG_TABLES = (
    "customers.Customer",
    "customers.Contact",
    "pipeline.Opportunity",
    "pipeline.StageChange",
    "pipeline.OpportunityCredit",
    "orders.Order",
    "orders.OrderLine",
    "orders.OrderCredit",
    "orders.Payment",
    "activities.Activity",
    "pipeline.Lead",
)


class DemoInputError(ValueError):
    """The options given to the demo builder cannot be used."""


def validate(scale: float, seed: int, today: date) -> None:
    if not isinstance(scale, int | float) or not np.isfinite(scale) or scale <= 0:
        raise DemoInputError(f"The scale must be a number above 0 (got {scale}).")
    if scale > MAX_SCALE:
        raise DemoInputError(
            f"The scale {scale} is too big: at most {MAX_SCALE:g} "
            f"(1 = 500 000 opportunities, 5 million activities)."
        )
    if seed < 0 or seed >= 2**63:
        raise DemoInputError(f"The seed must be a whole number from 0 to 2**63 - 1 (got {seed}).")
    if not FIRST_YEAR <= today.year <= LAST_YEAR:
        raise DemoInputError(
            f"'today' must be a date from {FIRST_YEAR} to {LAST_YEAR} (got {today.isoformat()})."
        )
    if connection.vendor not in ("sqlite", "postgresql"):
        raise DemoInputError(f"The demo needs SQLite or PostgreSQL, not {connection.vendor}.")


@dataclass
class BuildResult:
    scale: float
    seed: int
    today: date
    rows: dict[str, int] = field(default_factory=dict)
    timings: dict[str, loader.Timing] = field(default_factory=dict)
    generate_seconds: float = 0.0
    total_seconds: float = 0.0
    planted: dict[str, str] = field(default_factory=dict)


def _aware(axis: DayAxis, day: int) -> datetime:
    """09:00 local on ``day`` of the axis (clamped to the first day of history)."""
    return datetime.fromtimestamp(int(axis.midnight_utc[max(day, 0)]) + 9 * 3600, tz=UTC)


def create_small_tables(plan: P.OrgPlan, axis: DayAxis, seed: int) -> Refs:
    """Company, org tree, members, pipeline, catalogue and exchange rates, via the services."""
    rng = np.random.default_rng([seed, 4])
    Company.objects.create(
        name=P.COMPANY_NAME, currency="CNY", time_zone=settings.TIME_ZONE, fiscal_year_start_month=1
    )
    company = org_unit_create(name=P.COMPANY_NAME, kind=UnitKind.COMPANY)
    regions = [
        org_unit_create(name=f"{name}大区", kind=UnitKind.REGION, parent=company)
        for name in plan.regions
    ]
    teams = [
        org_unit_create(name=name, kind=UnitKind.TEAM, parent=regions[r]) for r, name in plan.teams
    ]
    units = {"company": company}
    units.update({f"region:{i}": u for i, u in enumerate(regions)})
    units.update({f"team:{i}": u for i, u in enumerate(teams)})
    members: dict[str, Member] = {}
    for person in plan.people:
        members[person.username] = member_create(
            username=person.username,
            password=None,
            display_name=person.display_name,
            org_unit=units[person.unit_key],
            role=person.role,
            title=person.title,
            email=f"{person.username}@huaxin.example.cn",
            hired_on=axis.today - timedelta(days=person.hired_days_ago),
        )
    # Everyone shares the demo password (one hash, with a salt derived from the seed).
    get_user_model().objects.update(
        password=make_password(P.DEMO_PASSWORD, salt=f"salesloopdemo{seed}")
    )
    pipeline = pipeline_create(name=PIPELINE_NAME, stages=DEFAULT_STAGES, is_default=True)
    stages = list(
        Stage.objects.filter(pipeline=pipeline).order_by("order").values_list("pk", flat=True)
    )

    line_ids, line_names, product_ids, product_line, prices = [], [], [], [], []
    for i, (name, code, _level, products) in enumerate(P.CATALOGUE):
        line = product_line_create(name=name, code=code)
        line_ids.append(line.pk)
        line_names.append(name)
        for j, (product_name, price) in enumerate(products, start=1):
            product = product_create(
                name=product_name,
                sku=f"{code}-{j:03d}",
                product_line=line,
                list_price=Decimal(price),
            )
            product_ids.append(product.pk)
            product_line.append(i)
            prices.append(price * 100)

    # USD rates: monthly, from two months before the history starts.
    first = date(axis.start.year, axis.start.month, 1)
    first = date(first.year - (first.month <= 2), (first.month - 3) % 12 + 1, 1)
    rate = 7.1
    usd_rate = np.zeros(axis.n_total, dtype=np.int64)
    month = first
    while month <= axis.today:
        rate = float(np.clip(rate + rng.normal(0, 0.035), 6.85, 7.35))
        value = round(rate, 4)
        exchange_rate_set(currency="USD", valid_from=month, rate=Decimal(f"{value:.4f}"))
        offset = (month - axis.start).days
        usd_rate[max(offset, 0) :] = round(value * 10000)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)

    # Small tables get their history's timestamps, not the wall clock's.
    start = _aware(axis, 0)
    for model in (OrgUnit, Company, Pipeline, Stage, ProductLine, Product):
        model.objects.update(created_at=start, updated_at=start)
    for person in plan.people:
        joined = _aware(axis, axis.n_days - person.hired_days_ago)
        Member.objects.filter(user__username=person.username).update(
            created_at=joined, updated_at=joined
        )
        get_user_model().objects.filter(username=person.username).update(date_joined=joined)
    AuditEvent.objects.update(at=start)
    return Refs(
        rep_member=np.array([members[p.username].pk for p in plan.reps], dtype=np.int64),
        stage=np.array(stages, dtype=np.int64),
        pipeline=pipeline.pk,
        line_ids=np.array(line_ids, dtype=np.int64),
        line_names=line_names,
        product_ids=np.array(product_ids, dtype=np.int64),
        product_line=np.array(product_line, dtype=np.int64),
        product_price=np.array(prices, dtype=np.int64),
        usd_rate=usd_rate,
        region_names=[plan.regions[p.region] for p in plan.reps],
    )


class _Reporter:
    def __init__(self, console: Console | None) -> None:
        self.console = console
        self.progress: Progress | None = None
        self.tasks: dict[str, int] = {}
        if console is not None:
            self.progress = Progress(
                TextColumn("{task.description:<28}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:>12} rows/s"),
                TimeElapsedColumn(),
                console=console,
            )
        self.started: dict[str, float] = {}

    def __call__(self, label: str, done: int, total: int) -> None:
        if self.progress is None:
            return
        if label not in self.tasks:
            self.tasks[label] = self.progress.add_task(label, total=total, rate="")
            self.started[label] = time.perf_counter() - 1e-9
        elapsed = time.perf_counter() - self.started[label]
        self.progress.update(
            self.tasks[label], completed=done, rate=f"{done / max(elapsed, 1e-9):,.0f}"
        )

    def note(self, text: str) -> None:
        if self.console is not None:
            self.console.log(text)


def build_demo(
    *, scale: float, seed: int, today: date, console: Console | None = None
) -> BuildResult:
    """Wipe the business data and build the demo company. All or nothing (one transaction)."""
    validate(scale, seed, today)
    began = time.perf_counter()
    result = BuildResult(scale=scale, seed=seed, today=today)
    axis = build_axis(today, settings.TIME_ZONE)
    pools = P.name_pools(seed)
    org_rng = np.random.default_rng([seed, 1])
    people = list(pools.people)
    org_rng.shuffle(people)
    plan = P.plan_org(scale, org_rng, people)
    reporter = _Reporter(console)
    vendor = connection.vendor
    connection.ensure_connection()
    saved_pragmas: dict[str, object] = {}
    if vendor == "sqlite" and not connection.in_atomic_block:
        # Pragmas for the load; they can only change outside a transaction.
        with connection.cursor() as cursor:
            for pragma in ("foreign_keys", "synchronous"):
                cursor.execute(f"PRAGMA {pragma}")
                saved_pragmas[pragma] = cursor.fetchone()[0]
            cursor.execute("PRAGMA journal_mode")
            journal = cursor.fetchone()[0]
            if journal.lower() == "wal":
                # A rollback journal writes the new pages once (WAL writes them twice).
                cursor.execute("PRAGMA journal_mode = TRUNCATE")
                saved_pragmas["journal_mode"] = journal
            cursor.execute("PRAGMA foreign_keys = OFF")
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute("PRAGMA cache_size = -262144")
            cursor.execute("PRAGMA temp_store = MEMORY")
            cursor.execute("PRAGMA threads = 4")
    try:
        with transaction.atomic():
            t0 = time.perf_counter()
            loader.wipe()
            reporter.note("wiped the business tables")
            refs = create_small_tables(plan, axis, seed)
            result.timings["org, users, pipeline, catalogue"] = loader.Timing(
                rows=len(plan.people), seconds=time.perf_counter() - t0
            )
            t0 = time.perf_counter()
            gen = DemoGenerator(
                seed=seed, scale=scale, axis=axis, plan=plan, refs=refs, pools=pools
            )
            gen.customers()
            gen.opportunities()
            gen.orders()
            gen.payments()
            gen.credits()
            activities(gen)
            leads(gen)
            result.generate_seconds = time.perf_counter() - t0
            reporter.note(f"generated the history in {result.generate_seconds:.1f} s")
            models = [apps.get_model(label) for label in BIG_TABLES]
            restore = loader.drop_secondary(m._meta.db_table for m in models)
            ctx = reporter.progress if reporter.progress is not None else _Null()
            with ctx:
                for table in emit(gen):
                    loader.insert(table, result.timings, reporter)
            t0 = time.perf_counter()
            loader.restore_secondary(restore)
            loader.reset_sequences(loader.business_models())
            result.timings["indexes & constraints"] = loader.Timing(
                rows=0, seconds=time.perf_counter() - t0
            )
            if vendor == "sqlite":
                t0 = time.perf_counter()
                _sqlite_fk_check([m._meta.db_table for m in models])
                result.timings["foreign key check"] = loader.Timing(
                    rows=0, seconds=time.perf_counter() - t0
                )
            t0 = time.perf_counter()
            firsts = first_orders_refresh()  # the orders went in by bulk inserts
            result.timings["customers' first orders"] = loader.Timing(
                rows=firsts, seconds=time.perf_counter() - t0
            )
            quiet = int(gen.customer_id[gen.planted["quiet_customer"]])
            result.planted["quiet_customer_id"] = str(quiet)
    finally:
        if saved_pragmas:
            with connection.cursor() as cursor:
                for pragma, value in saved_pragmas.items():
                    value = value if pragma == "journal_mode" else int(value)
                    cursor.execute(f"PRAGMA {pragma} = {value}")
    for label in BIG_TABLES:
        model = apps.get_model(label)
        result.rows[model._meta.db_table] = result.timings.get(
            model._meta.db_table, loader.Timing()
        ).rows
    result.rows[ExchangeRate._meta.db_table] = ExchangeRate.objects.count()
    result.total_seconds = time.perf_counter() - began
    return result


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _sqlite_fk_check(tables: list[str]) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"PRAGMA foreign_key_check({connection.ops.quote_name(table)})")
            bad = cursor.fetchmany(5)
            if bad:
                raise RuntimeError(f"The demo data break foreign keys in {table}: {bad}")
