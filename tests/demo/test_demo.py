"""The demo company: determinism, planted profiles measured from the rows, integrity, logins.

The company is built once for the module (outside the per-test transactions) and wiped at the
end, so other test modules still start from an empty database.
"""

from __future__ import annotations

import hashlib
import io
import statistics
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import Count, Max, Min, OuterRef, Subquery, Sum
from django.utils import timezone

from salesloop.activities.models import Activity
from salesloop.common.money import money
from salesloop.customers.models import Contact, Customer
from salesloop.demo import loader
from salesloop.demo.build import build_demo
from salesloop.orders.models import ExchangeRate, Order, OrderCredit, OrderLine, Payment
from salesloop.org.models import Member, OrgUnit
from salesloop.pipeline.choices import StageKind
from salesloop.pipeline.models import Lead, Opportunity, OpportunityCredit, Stage, StageChange

SCALE = "0.01"
TODAY = date(2026, 10, 31)
IS_PG = connection.vendor == "postgresql"

FINGERPRINT = {
    OrgUnit: ("name", "kind", "path", "depth", "created_at"),
    Member: ("user__username", "display_name", "role", "org_unit__path", "hired_on"),
    Customer: ("name", "tier", "industry", "region", "owner_id", "potential", "created_at"),
    Contact: ("customer_id", "name", "phone", "is_primary"),
    Opportunity: (
        "name",
        "customer_id",
        "owner_id",
        "stage_id",
        "amount",
        "currency",
        "amount_base",
        "expected_close",
        "stage_entered_at",
        "closed_at",
        "lost_reason",
        "created_at",
    ),
    StageChange: ("opportunity_id", "from_stage_id", "to_stage_id", "changed_at", "amount_base"),
    OpportunityCredit: ("opportunity_id", "member_id", "share"),
    Order: (
        "number",
        "customer_id",
        "owner_id",
        "opportunity_id",
        "signed_on",
        "amount",
        "amount_base",
        "currency",
    ),
    OrderLine: ("order_id", "product_id", "quantity", "unit_price", "amount", "amount_base"),
    OrderCredit: ("order_id", "member_id", "share"),
    Payment: ("order_id", "paid_on", "amount", "amount_base", "method"),
    Activity: (
        "kind",
        "owner_id",
        "customer_id",
        "opportunity_id",
        "occurred_at",
        "follow_up_due",
        "followed_up_at",
        "subject",
        "outcome",
    ),
    Lead: ("name", "company_name", "status", "owner_id", "converted_opportunity_id"),
    ExchangeRate: ("currency", "valid_from", "rate"),
}


def fingerprint() -> dict[str, tuple[int, str]]:
    out = {}
    for model, fields in FINGERPRINT.items():
        digest = hashlib.sha256()
        rows = 0
        for row in model.objects.order_by("pk").values_list("pk", *fields).iterator(2000):
            digest.update(repr(row).encode())
            rows += 1
        out[model.__name__] = (rows, digest.hexdigest())
    return out


def build(seed: int) -> None:
    call_command(
        "demo",
        "--scale",
        SCALE,
        "--seed",
        str(seed),
        "--today",
        TODAY.isoformat(),
        "--no-serve",
        stdout=io.StringIO(),
    )


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        build(42)
        yield fingerprint()
        with transaction.atomic():
            loader.wipe()


@pytest.fixture
def team(demo, db):
    """The demo manager's team: {profile-ish label: member}."""
    manager = Member.objects.select_related("org_unit").get(user__username="manager")
    reps = list(Member.objects.filter(org_unit=manager.org_unit, role="rep"))
    return manager, reps


def stage_by_order() -> dict[int, Stage]:
    return {s.order: s for s in Stage.objects.filter(pipeline__is_default=True)}


def won_amount_by_owner() -> dict[int, Decimal]:
    won = Opportunity.objects.filter(stage__kind=StageKind.WON)
    return {r["owner"]: r["total"] for r in won.values("owner").annotate(total=Sum("amount_base"))}


def proposal_to_negotiation(owner_id: int) -> float:
    stages = stage_by_order()
    changes = StageChange.objects.filter(opportunity__owner_id=owner_id)
    reached3 = set(changes.filter(to_stage=stages[3]).values_list("opportunity_id", flat=True))
    reached4 = set(changes.filter(to_stage=stages[4]).values_list("opportunity_id", flat=True))
    return len(reached3 & reached4) / max(len(reached3), 1)


def activities_per_week(member: Member) -> float:
    start = TODAY - timedelta(days=3 * 365)
    since = max(start, member.hired_on or start)
    weeks = max((TODAY - since).days / 7, 1)
    return Activity.objects.filter(owner=member).count() / weeks


def profile_of(reps: list[Member]) -> dict[str, Member]:
    """Find the planted profiles from the data alone (not from the generator)."""
    won = won_amount_by_owner()
    recent = TODAY - timedelta(days=300)
    out = {"star": max(reps, key=lambda m: won.get(m.pk, 0))}
    out["weak"] = min(reps, key=lambda m: proposal_to_negotiation(m.pk))
    out["low"] = min(reps, key=activities_per_week)
    out["new"] = [m for m in reps if m.hired_on and m.hired_on > recent]
    return out


# --- determinism ------------------------------------------------------------------------


def test_same_seed_same_rows_other_seed_differs(demo, db):
    # Rebuilt inside this test's transaction: rolled back afterwards.
    assert demo["Opportunity"][0] > 1000
    build(42)
    assert fingerprint() == demo
    build(7)
    other = fingerprint()
    assert other["Opportunity"][1] != demo["Opportunity"][1]
    assert other["Activity"][1] != demo["Activity"][1]
    build(42)  # leave the module's company in place


# --- planted profiles, measured from the rows ---------------------------------------------


def test_star_has_the_highest_won_amount_in_the_team(team):
    _manager, reps = team
    won = won_amount_by_owner()
    ranked = sorted(reps, key=lambda m: won.get(m.pk, 0), reverse=True)
    assert won[ranked[0].pk] > Decimal("1.3") * won[ranked[1].pk]


def test_weak_rep_converts_proposals_far_below_the_team(team):
    _manager, reps = team
    rates = {m.pk: proposal_to_negotiation(m.pk) for m in reps}
    weak = min(rates, key=rates.get)
    median = statistics.median(rates.values())
    assert rates[weak] < 0.6 * median
    assert weak != Member.objects.get(user__username="rep").pk


def test_low_activity_rep_logs_far_fewer_activities(team):
    _manager, reps = team
    per_week = {m.pk: activities_per_week(m) for m in reps}
    low = min(per_week, key=per_week.get)
    assert per_week[low] < 0.5 * statistics.median(per_week.values())
    assert low != profile_of(reps)["weak"].pk


def test_new_hires_ramp_up(team, db):
    recent = TODAY - timedelta(days=300)
    hires = list(Member.objects.filter(role="rep", hired_on__gt=recent))
    assert hires
    assert any(m.org_unit_id == team[0].org_unit_id for m in hires)
    early = late = Decimal("0.00")
    for member in hires:
        base = member.hired_on
        for opp in Opportunity.objects.filter(owner=member, stage__kind=StageKind.WON):
            month = (timezone.localtime(opp.closed_at).date() - base).days // 30
            if month < 3:
                early += opp.amount_base
            elif month < 6:
                late += opp.amount_base
    assert late > Decimal("1.5") * early


def monthly_booked() -> dict[tuple[int, int], Decimal]:
    totals: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for signed_on, amount in Order.objects.values_list("signed_on", "amount_base").iterator():
        totals[(signed_on.year, signed_on.month)] += amount
    first, last = min(totals), max(totals)
    return {k: v for k, v in totals.items() if k not in (first, last)}  # full months only


def test_seasonality_cny_dip_and_year_end_peak(demo, db):
    totals = monthly_booked()
    overall = sum(totals.values()) / len(totals)
    by_month: dict[int, list[Decimal]] = defaultdict(list)
    for (_year, month), value in totals.items():
        by_month[month].append(value)
    mean = {m: sum(v) / len(v) for m, v in by_month.items()}
    assert mean[1] < overall and mean[2] < overall
    assert mean[11] > overall and mean[12] > overall
    assert mean[12] > mean[1] * Decimal("1.4")


def test_pareto_of_key_accounts(demo, db):
    revenue = sorted(
        (r["total"] for r in Order.objects.values("customer").annotate(total=Sum("amount_base"))),
        reverse=True,
    )
    total = sum(revenue)
    top20 = sum(revenue[: len(revenue) // 5])
    assert top20 / total > Decimal("0.5")
    key = Order.objects.filter(customer__tier="key").aggregate(s=Sum("amount_base"))["s"]
    key_share = key / total
    key_count = Customer.objects.filter(tier="key").count() / Customer.objects.count()
    assert 0.05 <= key_count <= 0.10
    assert Decimal("0.4") <= key_share <= Decimal("0.7")


def test_a_key_account_went_quiet(demo, db):
    cutoff = TODAY - timedelta(days=150)
    quiet = []
    for customer in Customer.objects.filter(tier="key"):
        days = sorted(customer.orders.values_list("signed_on", flat=True))
        if len(days) < 8 or days[-1] >= cutoff:
            continue
        gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False)]
        if statistics.median(gaps) < 60 and (TODAY - days[-1]).days > 1.5 * max(
            statistics.median(gaps), 1
        ):
            quiet.append(customer)
    assert quiet


def test_open_pipeline_stalled_and_slipped_deals(demo, db):
    open_opps = Opportunity.objects.filter(stage__kind=StageKind.OPEN)
    assert open_opps.filter(expected_close__gt=TODAY).count() > 100
    now = timezone.make_aware(timezone.datetime.combine(TODAY, timezone.datetime.min.time()))
    stalled = open_opps.filter(stage_entered_at__lt=now - timedelta(days=60)).count()
    assert stalled >= 20
    assert open_opps.filter(expected_close__lt=TODAY).exists()


# --- data integrity -----------------------------------------------------------------------


def test_stage_changes_match_opportunities(demo, db):
    n = Opportunity.objects.count()
    initial = StageChange.objects.filter(from_stage__isnull=True)
    assert initial.count() == n
    assert initial.values("opportunity").distinct().count() == n
    first_at = StageChange.objects.filter(opportunity=OuterRef("pk")).order_by("changed_at", "id")
    last = StageChange.objects.filter(opportunity=OuterRef("pk")).order_by("-changed_at", "-id")
    mismatched = Opportunity.objects.annotate(
        last_to=Subquery(last.values("to_stage")[:1]),
        last_at=Subquery(last.values("changed_at")[:1]),
        first_from=Subquery(first_at.values("from_stage")[:1]),
    )
    assert not mismatched.exclude(stage_id=models_f("last_to")).exists()
    assert not mismatched.exclude(stage_entered_at=models_f("last_at")).exists()
    assert not mismatched.filter(first_from__isnull=False).exists()


def models_f(name):
    from django.db.models import F

    return F(name)


def test_won_iff_closed_won(demo, db):
    closed = Opportunity.objects.filter(closed_at__isnull=False)
    assert not closed.filter(stage__kind=StageKind.OPEN).exists()
    assert (
        not Opportunity.objects.filter(closed_at__isnull=True)
        .exclude(stage__kind=StageKind.OPEN)
        .exists()
    )
    won = Opportunity.objects.filter(stage__kind=StageKind.WON)
    assert won.count() == Order.objects.filter(opportunity__isnull=False).count()
    assert not Opportunity.objects.filter(stage__kind=StageKind.LOST, lost_reason="").exists()
    assert (
        not Opportunity.objects.exclude(stage__kind=StageKind.LOST).exclude(lost_reason="").exists()
    )
    for opp in won.select_related("stage").prefetch_related("orders")[:200]:
        order = opp.orders.get()
        assert order.signed_on == timezone.localtime(opp.closed_at).date()
        assert order.amount == opp.amount and order.currency == opp.currency


def test_orders_lines_and_payments_are_consistent(demo, db):
    sums = Order.objects.annotate(line_total=Sum("lines__amount"), n=Count("lines"))
    assert not sums.filter(n=0).exists()
    assert all(o.line_total == o.amount for o in sums.only("amount"))
    paid = Order.objects.annotate(paid=Sum("payments__amount")).filter(paid__isnull=False)
    assert all(o.paid <= o.amount for o in paid.only("amount"))
    first = Order.objects.annotate(first=Min("payments__paid_on")).filter(first__isnull=False)
    assert all(o.first >= o.signed_on for o in first.only("signed_on"))
    # Some recent orders are not (fully) paid yet.
    recent = sums.filter(signed_on__gte=TODAY - timedelta(days=60))
    unpaid = [
        o for o in paid.filter(signed_on__gte=TODAY - timedelta(days=90)) if o.paid < o.amount
    ]
    assert recent.exists() and unpaid


def test_amount_base_uses_the_exchange_rate(demo, db):
    usd_orders = Order.objects.filter(currency="USD")
    assert usd_orders.exists() and Opportunity.objects.filter(currency="USD").exists()
    for order in usd_orders[:50]:
        rate = (
            ExchangeRate.objects.filter(currency="USD", valid_from__lte=order.signed_on)
            .order_by("-valid_from")
            .first()
            .rate
        )
        assert order.amount_base == money(order.amount * rate)
    assert not Order.objects.filter(currency="CNY").exclude(amount_base=models_f("amount")).exists()
    for opp in Opportunity.objects.filter(currency="USD")[:50]:
        rate = (
            ExchangeRate.objects.filter(
                currency="USD", valid_from__lte=timezone.localtime(opp.created_at).date()
            )
            .order_by("-valid_from")
            .first()
            .rate
        )
        assert opp.amount_base == money(opp.amount * rate)


def test_activities_follow_ups(demo, db):
    rows = Activity.objects.values_list("occurred_at", "follow_up_due", "followed_up_at")
    late = on_time = overdue = 0
    for occurred, due, followed in rows.iterator(5000):
        local = timezone.localtime(occurred).date()
        if due is None:
            assert followed is None
            continue
        assert due >= local
        if followed is None:
            overdue += due < TODAY
            continue
        assert followed > occurred
        if timezone.localtime(followed).date() <= due:
            on_time += 1
        else:
            late += 1
    assert on_time > 2 * late > 0
    assert overdue > 0


def test_followed_up_by_the_next_activity_with_the_customer(demo, db):
    acts = list(
        Activity.objects.filter(owner__user__username="rep")
        .order_by("customer_id", "occurred_at", "id")
        .values_list("customer_id", "occurred_at", "follow_up_due", "followed_up_at")
    )
    for (c1, _t1, due, followed), (c2, t2, _d, _f) in zip(acts, acts[1:], strict=False):
        if c1 == c2 and due is not None:
            assert followed == t2


def test_nothing_in_the_future_and_kinds_are_valid(demo, db):
    now = timezone.make_aware(timezone.datetime.combine(TODAY, timezone.datetime.min.time()))
    for model in (Customer, Contact, Opportunity, Order, Payment, Activity, Lead, Member, OrgUnit):
        assert model.objects.aggregate(m=Max("created_at"))["m"] <= now, model
    assert StageChange.objects.aggregate(m=Max("changed_at"))["m"] < now
    kinds = set(Activity.objects.values_list("kind", flat=True).distinct())
    assert kinds == {"visit", "call", "email", "meeting", "other"}
    statuses = set(Lead.objects.values_list("status", flat=True).distinct())
    assert statuses == {"new", "contacted", "qualified", "converted", "disqualified"}
    converted = Lead.objects.filter(status="converted")
    assert not converted.filter(converted_opportunity__isnull=True).exists()


def test_credit_splits_sum_to_100(demo, db):
    for model, key in ((OpportunityCredit, "opportunity"), (OrderCredit, "order")):
        shares = model.objects.values(key).annotate(total=Sum("share"), n=Count("id"))
        assert shares.count() >= 4
        assert all(s["total"] == 100 and s["n"] == 2 for s in shares)


def test_customer_names_unique_and_org_paths(demo, db):
    assert Customer.objects.values("name").distinct().count() == Customer.objects.count()
    for unit in OrgUnit.objects.select_related("parent"):
        expected = (unit.parent.path if unit.parent else "") + f"{unit.pk:06d}/"
        assert unit.path == expected


# --- logins and roles ---------------------------------------------------------------------


def test_demo_logins(demo, client):
    for username in ("director", "manager", "rep", "admin", "viewer", "rep001"):
        assert client.login(username=username, password="salesloop-demo"), username
    roles = dict(Member.objects.values_list("user__username", "role"))
    assert roles["director"] == "director" and roles["manager"] == "manager"
    assert roles["rep"] == "rep" and roles["admin"] == "admin" and roles["viewer"] == "viewer"
    rep = Member.objects.select_related("org_unit").get(user__username="rep")
    manager = Member.objects.select_related("org_unit").get(user__username="manager")
    director = Member.objects.select_related("org_unit").get(user__username="director")
    assert rep.org_unit.path.startswith(manager.org_unit.path)
    assert manager.org_unit.kind == "team" and director.org_unit.kind == "company"
    assert get_user_model().objects.filter(username="admin", is_superuser=True).exists()


def test_manager_team_holds_the_planted_reps(team):
    _manager, reps = team
    found = profile_of(reps)
    assert len(reps) >= 6
    assert found["new"]
    rep = Member.objects.get(user__username="rep")
    assert rep in reps and found["star"] != rep
    assert len({found["star"].pk, found["weak"].pk, found["low"].pk, rep.pk}) == 4


def test_ids_continue_after_the_bulk_load(demo, db):
    from salesloop.customers.services import customer_create

    owner = Member.objects.get(user__username="rep")
    top = Customer.objects.aggregate(m=Max("id"))["m"]
    assert customer_create(name="新客户测试有限公司", owner=owner).pk > top


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--scale", "-1"],
        ["--scale", "0"],
        ["--scale", "5000"],
        ["--today", "2026-13-01"],
        ["--today", "1999-01-01"],
        ["--scale", "abc"],
    ],
)
def test_bad_input_changes_nothing(demo, db, args):
    before = (Opportunity.objects.count(), Activity.objects.count(), Member.objects.count())
    with pytest.raises(CommandError):
        call_command("demo", *args, "--no-serve", stdout=io.StringIO())
    assert (Opportunity.objects.count(), Activity.objects.count(), Member.objects.count()) == before


# --- PostgreSQL only ----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(not IS_PG, reason="needs DATABASE_URL pointing to PostgreSQL")
def test_postgres_constraints_and_indexes_are_restored(demo, db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'activities_activity'::regclass "
            "AND contype = 'f'"
        )
        assert cursor.fetchone()[0] == 3
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'activities_activity'")
        names = {r[0] for r in cursor.fetchall()}
    assert {"activity_owner_at_idx", "activity_customer_at_idx", "activity_owner_due_idx"} <= names


def test_build_function_is_all_or_nothing(demo, db):
    with pytest.raises(ValueError):
        build_demo(scale=-1, seed=1, today=TODAY)
    assert Opportunity.objects.exists()


def test_every_customer_with_an_order_has_its_first_order_kept(demo, db):
    """The orders go in by bulk inserts: the build sets the first orders once, after them."""
    from salesloop.orders.models import CustomerFirstOrder
    from tests.orders.test_first_orders import reference

    kept = dict(CustomerFirstOrder.objects.values_list("customer_id", "order_id"))
    assert kept == reference() and len(kept) > 100


def test_new_business_prediction_follows_what_was_realised(demo, db):
    """The probability of attainment draws new business for the rest of a period from the same
    days of the two previous years, grown as over the last year. On the demo (15 % a year and
    new hires), read at seven past days, the prediction is compared with what was realised after
    each day (counted here with plain queries): close on the whole, where the old rate — the
    whole same period's plain mean scaled by the share of days left — fell well short."""
    from salesloop.insights.scope import resolve_scope
    from salesloop.insights.selectors import new_business

    director = Member.objects.get(user__username="director")
    cuts = [
        ("quarter", date(2025, 11, 30)),
        ("quarter", date(2026, 2, 15)),
        ("quarter", date(2026, 5, 31)),
        ("quarter", date(2026, 8, 15)),
        ("month", date(2026, 9, 20)),
        ("month", date(2026, 10, 10)),
        ("year", date(2025, 9, 30)),
    ]
    won = Opportunity.objects.filter(stage__kind=StageKind.WON)
    direct = Order.objects.filter(opportunity__isnull=True, status="active")

    def realised(lo: date, hi: date) -> int:
        """Deals created and won in lo..hi, and direct orders signed in it."""
        return (
            won.filter(created_at__date__gte=lo, closed_at__date__lte=hi).count()
            + direct.filter(signed_on__gte=lo, signed_on__lte=hi).count()
        )

    new, old, real = [], [], []
    for kind, day in cuts:
        scope = resolve_scope(director.user, {"period": kind}, today=day)
        p = scope.period
        new.append(sum(new_business(scope, list(scope.node.member_ids))[0].values()))
        left = (p.end - day).days / ((p.end - p.start).days + 1)
        back = [scope.fiscal.same_period_last_year(p)]
        back.append(scope.fiscal.same_period_last_year(back[0]))
        old.append(sum(realised(q.start, q.end) for q in back) / 2 * left)
        real.append(realised(day + timedelta(days=1), p.end))
    assert min(real) > 0
    # on the whole (measured: 0.94 and 0.48): the new one within 15 %, the old 40 % short or more
    assert 0.85 <= sum(new) / sum(real) <= 1.15, (new, real)
    assert sum(old) / sum(real) < 0.6, (old, real)
    # cut by cut, the new prediction is the closer one more often than not
    closer = sum(abs(n - r) < abs(o - r) for n, o, r in zip(new, old, real, strict=True))
    assert closer >= 6, (new, old, real)
