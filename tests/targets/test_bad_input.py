"""Bad input and rule gaps found by exploratory testing of the planning pages and the API:
each is refused with a sentence and changes nothing, or is held to the rules of the page."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import translation

from salesloop.common.money import ENTRY_MAX
from salesloop.core.periods import SeasonalWeights
from salesloop.targets import services as s
from salesloop.targets.models import PlanStatus, Proposal, Revision, Target
from salesloop.targets.planning import split_subtree
from tests import factories as f
from tests.factories import set_levels
from tests.factories import target_node as node

pytestmark = pytest.mark.django_db
D = Decimal
TOO_MANY_DIGITS = "99999999999999.99"  # 16 digits: what SQLite cannot hold exactly


@pytest.fixture
def plan(org):
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=plan, metric="booked_revenue")
    return plan


def _values(plan):
    return list(
        Target.objects.filter(plan=plan)
        .order_by("pk")
        .values_list("floor", "target", "stretch", "locked", "method", "lock_version")
    )


def _save(client, target, floor, value, stretch, **extra):
    return client.post(
        reverse("targets:save", args=[target.pk]) + "?metric=booked_revenue",
        {
            "floor": floor,
            "target": value,
            "stretch": stretch,
            "version": target.lock_version,
            **extra,
        },
        HTTP_HX_REQUEST="true",
    )


def test_an_amount_beyond_twelve_digits_is_refused_and_the_largest_reads_back_exact(
    client, org, plan, login
):
    login(org.director)
    rep = node(plan, member=org.rep_a1)
    before = _values(plan)
    big = _save(client, rep, TOO_MANY_DIGITS, TOO_MANY_DIGITS, TOO_MANY_DIGITS)
    assert big.status_code == 400 and "At most 999,999,999,999.99" in big.content.decode()
    assert _values(plan) == before
    # said in the reader's language (the fields are made at import, in no language of a reader)
    client.cookies["django_language"] = "zh-hans"
    big = _save(client, rep, TOO_MANY_DIGITS, TOO_MANY_DIGITS, TOO_MANY_DIGITS)
    assert "最多 999,999,999,999.99" in big.content.decode()
    del client.cookies["django_language"]
    largest = f"{ENTRY_MAX:f}"
    assert largest == "999999999999.99"
    assert _save(client, rep, largest, largest, largest).status_code == 200
    rep.refresh_from_db()
    assert (rep.floor, rep.target, rep.stretch) == (ENTRY_MAX, ENTRY_MAX, ENTRY_MAX)


def test_a_proposal_too_large_is_refused_and_the_pages_that_list_proposals_still_open(
    client, org, plan, login
):
    login(org.rep_a1)
    rep = node(plan, member=org.rep_a1)
    url = reverse("targets:propose", args=[rep.pk])
    response = client.post(url, {"value": TOO_MANY_DIGITS, "comment": "big"}, follow=True)
    assert "At most 999,999,999,999.99, please." in response.content.decode()
    assert not Proposal.objects.exists()
    client.post(url, {"value": f"{ENTRY_MAX:f}", "comment": "the largest"})
    assert Proposal.objects.get().value == ENTRY_MAX
    assert client.get(reverse("targets:mine")).status_code == 200
    login(org.mgr_a)
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("targets:reconcile", args=[plan.pk])).status_code == 200


def test_a_proposal_of_zero_needs_a_reason(client, org, plan, login):
    """Zero was taken in silence, as if a rep expected to sell nothing; with a reason (leaving
    in March, a product line dropped) it is a figure the manager can weigh."""
    login(org.rep_a1)
    rep = node(plan, member=org.rep_a1)
    url = reverse("targets:propose", args=[rep.pk])
    refused = client.post(url, {"value": "0", "comment": "  "}, follow=True)
    assert "A proposal of zero needs a reason" in refused.content.decode()
    assert not Proposal.objects.exists()
    client.post(url, {"value": "0", "comment": "三月离职"})
    assert (Proposal.objects.get().value, Proposal.objects.get().comment) == (D(0), "三月离职")


def test_huge_month_figures_are_shares_and_an_exponent_is_a_slip(client, org, plan, login):
    assert SeasonalWeights.from_raw([1e308, 1e308] + [0.0] * 10).values[:3] == (0.5, 0.5, 0.0)
    team = node(plan, unit=org.team_a)
    set_levels(team, D(120000), org.director)
    team.refresh_from_db()
    login(org.director)
    url = reverse("targets:months", args=[team.pk])
    # an exponent is a slip, refused with its month
    slip = {"m1": "1e308", "m2": "1e308", **{f"m{i}": "0" for i in range(3, 13)}}
    refused = client.post(url, {**slip, "version": team.lock_version})
    assert refused.status_code == 400
    assert "2027-01: enter a share of 0 or more (a percentage), not 1e308." in (
        refused.content.decode()
    )
    # a number beyond any amount says so (it said "0 or more", as if it were negative)
    huge = {"m1": "99999999999999999999", **{f"m{i}": "1" for i in range(2, 13)}}
    refused = client.post(url, {**huge, "version": team.lock_version})
    assert refused.status_code == 400
    assert "2027-01: 99999999999999999999 is more than any share or amount can be." in (
        refused.content.decode()
    )
    # the largest figures one may type are shares of their sum like any other
    typed = {"m1": "999,999,999,999", "m2": "999999999999", **{f"m{i}": "0" for i in range(3, 13)}}
    asked = client.post(url, {**typed, "version": team.lock_version})
    assert asked.status_code == 400  # not the year's ¥120,000: said first, in amounts
    assert "The months add up to ¥1,999,999,999,998, ¥1,999,999,879,998 more than" in (
        asked.content.decode()
    )
    token = re.search(r'name="confirm" value="([0-9a-f]+)"', asked.content.decode())[1]
    response = client.post(url, {**typed, "version": team.lock_version, "confirm": token})
    assert response.status_code == 302
    assert [m.target_value for m in team.months.order_by("month")][:3] == [
        D(60000),
        D(60000),
        D(0),
    ]


@pytest.mark.parametrize("version", ["abc", "", "0", "-1"])
def test_a_workflow_step_without_the_pages_version_is_refused(client, org, plan, login, version):
    login(org.director)
    response = client.post(
        reverse("targets:transition", args=[plan.pk]), {"action": "submit", "version": version}
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT
    page = client.get(response["Location"]).content.decode()
    assert "This page is out of date" in page


def test_a_plan_goes_back_to_draft_only_with_a_few_words(org, plan):
    s.plan_submit(plan=f.with_a_figure(plan), actor=org.director.user)
    with pytest.raises(ValidationError, match="at least a few words"):
        s.plan_return_to_draft(plan=plan, actor=org.admin.user, reason="x")
    s.plan_return_to_draft(plan=plan, actor=org.admin.user, reason="增长假设再看看")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT
    # one event in the history, with the status and the reason (there were two)
    from salesloop.targets.selectors import plan_audit

    sent_back = [line for line in plan_audit(plan=plan)[0] if "draft" in line.what.lower()]
    assert len(sent_back) == 1, sent_back
    assert any("增长假设再看看" in d for d in sent_back[0].details)
    assert any("Submitted" in d and "Draft" in d for d in sent_back[0].details)


def test_an_uplift_beyond_any_amount_is_refused(client, org, plan, login):
    from salesloop.targets.models import PlanRun

    login(org.director)
    response = client.post(
        reverse("targets:recompute", args=[plan.pk]),
        {"metric": "booked_revenue", "growth_pct": "0", f"uplift_{org.product_line.code}": "1e400"},
    )
    assert response.status_code == 400
    assert not PlanRun.objects.exists()
    # a figure too large is said once (it broke both the size and the bound: two sentences)
    response = client.post(
        reverse("targets:recompute", args=[plan.pk]),
        {
            "metric": "booked_revenue",
            "growth_pct": "0",
            f"uplift_{org.product_line.code}": "99999999999999999",
        },
    )
    assert response.status_code == 400
    assert response.content.decode().count("At most 999,999,999,999.99") == 1
    assert "less than or equal to" not in response.content.decode()
    assert not PlanRun.objects.exists()


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        ({"hire0_month": "3", "hire0_ramp": "6"}, "hire0_fte", "Hire 1: give how many people"),
        ({"hire1_fte": "2", "hire1_ramp": "3"}, "hire1_month", "Hire 2: give the month"),
    ],
)
def test_half_a_hire_is_refused_not_guessed(client, org, plan, login, row, field, words):
    """A hire with no headcount used to be taken as one person, one with no month was dropped:
    the capacity behind the waterfall's "new hires" was quietly not what was typed."""
    from salesloop.targets.models import PlanRun

    login(org.director)
    before = dict(plan.assumptions)
    response = client.post(
        reverse("targets:recompute", args=[plan.pk]),
        {"metric": "booked_revenue", "growth_pct": "0", **row},
    )
    assert response.status_code == 400
    assert words in response.content.decode()
    assert not PlanRun.objects.exists()
    plan.refresh_from_db()
    assert plan.assumptions == before


def test_a_managers_split_keeps_their_own_target_as_if_locked(org, plan):
    """A manager never sets their own target: splitting their team spreads the team's figures
    over the others and leaves theirs as it is, by the recursive split and the one-level one."""
    team = node(plan, unit=org.team_a)
    set_levels(team, D(300000), org.director)
    own = node(plan, member=org.mgr_a)
    set_levels(own, D(50000), org.director)
    s.target_set_method(target=node(plan, unit=org.team_a), method="equal", actor=org.mgr_a.user)
    split_subtree(target=node(plan, unit=org.team_a), actor=org.mgr_a.user)
    own.refresh_from_db()
    assert (own.floor, own.target, own.stretch) == (D(40000), D(50000), D(60000))
    reps = [node(plan, member=m) for m in (org.rep_a1, org.rep_a2)]
    assert [r.target for r in reps] == [D(125000), D(125000)]  # (300,000 − 50,000) / 2
    # the one-level split too
    set_levels(node(plan, unit=org.team_a), D(320000), org.director)
    kids = list(node(plan, unit=org.team_a).children.all())
    s.target_allocate(
        target=node(plan, unit=org.team_a), weights={k.pk: 1 for k in kids}, actor=org.mgr_a.user
    )
    own.refresh_from_db()
    assert own.target == D(50000)
    assert sorted(r.target for r in Target.objects.filter(parent=own.parent)) == [
        D(50000),
        D(135000),
        D(135000),
    ]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_locked_children_over_their_parent_are_refused_in_yuan_not_cents(org, plan, language):
    """Both splits (the recursive one, which works in cents, and the one-level one) name the
    locked sum, the parent and the excess as the plan page shows figures."""
    set_levels(node(plan, unit=org.team_a), D(300000), org.director)
    for rep, value in ((org.rep_a1, D(200000)), (org.rep_a2, D("150000.50"))):
        s.target_set(
            target=node(plan, member=rep),
            floor=D(100000),
            target_value=value,
            stretch=D(250000),
            actor=org.director.user,
            lock=True,
        )
    before = _values(plan)
    expected = {
        "en": "locked children's targets add up to ¥350,000.50, ¥50,000.50 more than its "
        "target ¥300,000",
        "zh-hans": "被锁定的下级目标合计 ¥350,000.50，比其目标 ¥300,000 多 ¥50,000.50",
    }[language]
    team = node(plan, unit=org.team_a)
    with translation.override(language):
        with pytest.raises(ValidationError) as recursive:
            split_subtree(target=team, actor=org.director.user)
        with pytest.raises(ValidationError) as one_level:
            s.target_allocate(
                target=team,
                weights={k.pk: 1 for k in team.children.all()},
                actor=org.director.user,
            )
    for refusal in (recursive, one_level):
        assert expected in refusal.value.messages[0], refusal.value.messages
    assert _values(plan) == before


def test_nobody_sets_how_their_own_target_is_split(org, plan):
    with pytest.raises(PermissionDenied):
        s.target_set_method(
            target=node(plan, member=org.mgr_a), method="equal", actor=org.mgr_a.user
        )


def test_a_proposal_is_made_on_a_total_not_on_a_product_line(org, history):
    from salesloop.targets.planning import Inputs, recommend_plan

    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    line = Target.objects.get(plan=plan, member=org.rep_a2, product_line=org.product_line)
    with pytest.raises(ValidationError, match="on a total"):
        s.proposal_create(target=line, value=D(9000000), comment="", actor=org.rep_a2.user)
    assert not Proposal.objects.exists()


def test_an_accepted_proposal_keeps_the_plans_round_figures(org, plan):
    plan.assumptions = {"booked_revenue": {"round_to": 1000}}
    plan.save(update_fields=["assumptions"])
    rep = node(plan, member=org.rep_a1)
    s.target_set(
        target=rep, floor=D(96000), target_value=D(120000), stretch=D(144000), actor=org.mgr_a.user
    )
    proposal = s.proposal_create(
        target=rep, value=D("100500"), comment="两个客户预算减少", actor=org.rep_a1.user
    )
    s.proposal_decide(proposal=proposal, accept=True, actor=org.mgr_a.user)
    rep.refresh_from_db()
    # 0.8 × 100,500 = 80,400 → 80,000; 1.2 × 100,500 = 120,600 → 121,000; the value as typed
    assert (rep.floor, rep.target, rep.stretch) == (D(80000), D("100500"), D(121000))


def test_a_revision_that_changes_nothing_is_refused(org, plan):
    rep = _active(org, plan)
    version = rep.lock_version
    with pytest.raises(ValidationError, match="Nothing to revise"):
        s.target_revise(
            target=rep,
            floor=D(96000),
            target_value=D("120000.00"),
            stretch=D(144000),
            reason="no change at all",
            actor=org.mgr_a.user,
        )
    rep.refresh_from_db()
    assert rep.lock_version == version and not Revision.objects.exists()
    # locking an active target is not a permission question: the plan says why
    with pytest.raises(ValidationError, match="draft"):
        s.target_set_locked(target=rep, locked=True, actor=org.director.user)


def test_a_refused_inline_edit_names_its_row_and_keeps_what_was_typed(client, org, plan, login):
    login(org.director)
    rep = node(plan, member=org.rep_a1)
    response = _save(client, rep, "500", "400", "600")
    page = response.content.decode()
    assert response.status_code == 400
    assert "Rep_A1: Floor ≤ target ≤ stretch, please." in page
    row = re.search(rf'<tr [^>]*id="target-{rep.pk}".*?</tr>', page, re.S).group(0)
    assert "refused" in row and 'value="500"' in row and 'value="400"' in row
    assert 'aria-invalid="true"' in row


def test_move_is_offered_to_a_manager_only_with_somewhere_to_move_to(client, org, plan, login):
    url = reverse("targets:plan", args=[plan.pk])
    login(org.mgr_a)  # leads Team A alone
    assert "move-link" not in client.get(url).content.decode()
    login(org.east_mgr)  # leads East: Team A and Team B
    assert "move-link" in client.get(url).content.decode()


def test_an_import_reads_a_hidden_target_as_one_of_no_plan(client, org, plan, login):
    """A manager uploading the director's export (or a hand-made key) learns nothing about a
    target hidden from them: the row is refused whatever its figures, in the same words as a
    key of another plan."""
    from openpyxl import load_workbook

    from salesloop.targets.export import plan_workbook

    wb = load_workbook(io.BytesIO(plan_workbook(user=org.director.user, plan=plan)))
    buffer = io.BytesIO()
    wb.save(buffer)  # unchanged: Team W's rows carry their figures as they are
    buffer.seek(0)
    buffer.name = "director.xlsx"
    login(org.mgr_a)
    response = client.post(reverse("targets:import", args=[plan.pk]), {"file": buffer})
    errors = response.context["reading"].errors
    assert response.status_code == 400
    assert any("are not targets of" in e and "that you may see" in e for e in errors), errors
    assert not any("Rep_W1" in e or "Team W" in e for e in errors)


def _active(org, plan):
    rep = node(plan, member=org.rep_a1)
    s.target_set(
        target=rep, floor=D(96000), target_value=D(120000), stretch=D(144000), actor=org.mgr_a.user
    )
    s.plan_submit(plan=plan, actor=org.director.user)
    s.plan_approve(plan=plan, actor=org.admin.user)
    s.plan_activate(plan=plan, actor=org.director.user)
    return Target.objects.get(pk=rep.pk)


def test_a_months_revision_that_changes_nothing_is_refused(org, plan, time_machine):
    """In December only one month is open: any share for it leaves the months as they are."""
    rep = _active(org, plan)
    time_machine.move_to("2027-12-10 10:00:00+08:00")
    with pytest.raises(ValidationError, match="split this way already"):
        s.target_revise_months(
            target=rep,
            weights=s.month_weights(["0"] * 11 + ["50"]),
            reason="只调整十二月",
            actor=org.mgr_a.user,
        )
    assert not Revision.objects.exists()
    assert Target.objects.get(pk=rep.pk).lock_version == rep.lock_version


@pytest.mark.parametrize("accept", [True, False])
def test_proposals_are_decided_only_while_the_plan_is_a_draft(org, plan, accept):
    rep = node(plan, member=org.rep_a1)
    proposal = s.proposal_create(target=rep, value=D(90000), comment="", actor=org.rep_a1.user)
    s.plan_submit(plan=f.with_a_figure(plan), actor=org.director.user)
    with pytest.raises(ValidationError, match="decided while the plan is a draft"):
        s.proposal_decide(proposal=proposal, accept=accept, actor=org.mgr_a.user)
    proposal.refresh_from_db()
    assert proposal.status == "open"


def test_a_newer_proposal_replaces_the_authors_open_one(client, org, plan, login):
    """韩涛 proposes 36,000 then 37,000: only the newer waits for a decision; the older can no
    longer be accepted over it; the reconciliation and My day count one."""
    rep = node(plan, member=org.rep_a1)
    older = s.proposal_create(target=rep, value=D(36000), comment="", actor=org.rep_a1.user)
    newer = s.proposal_create(target=rep, value=D(37000), comment="", actor=org.rep_a1.user)
    older.refresh_from_db()
    assert (older.status, newer.status) == ("superseded", "open")
    s.proposal_decide(proposal=newer, accept=True, actor=org.mgr_a.user)
    with pytest.raises(ValidationError, match="replaced this proposal with a newer one"):
        s.proposal_decide(proposal=older, accept=True, actor=org.mgr_a.user)
    assert Target.objects.get(pk=rep.pk).target == D(37000)
    from salesloop.targets.selectors import reconciliation

    rows = reconciliation(user=org.mgr_a.user, plan=plan, metric="booked_revenue")
    mine = next(r for r in rows if r["row"].target.pk == rep.pk)
    assert mine["proposal"].pk == newer.pk and mine["bottom_up"] == D(37000)


def test_activating_a_version_archives_the_years_other_open_versions(org, plan):
    """v1 stays a draft while v2 is made, approved and activated: v1 is archived with it, so its
    open proposals no longer wait for anyone, and an archived target says it is read-only."""
    rep = node(plan, member=org.rep_a1)
    s.proposal_create(target=rep, value=D(90000), comment="", actor=org.rep_a1.user)
    v2 = s.plan_copy(plan=plan, actor=org.director.user)
    s.plan_submit(plan=f.with_a_figure(v2), actor=org.director.user)
    s.plan_approve(plan=v2, actor=org.admin.user)
    s.plan_activate(plan=v2, actor=org.admin.user)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ARCHIVED
    from salesloop.targets.selectors import waiting_decisions

    assert not waiting_decisions(user=org.mgr_a.user)
    with pytest.raises(ValidationError, match="archived: it is read-only"):
        s.target_set(target=rep, floor=D(1), target_value=D(2), stretch=D(3), actor=org.mgr_a.user)
