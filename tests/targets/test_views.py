"""The targets pages: every route × role × own / subordinate's / peer's / other branch's target."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from salesloop.targets import services as s
from salesloop.targets.models import Plan, PlanRun, Proposal, Target
from tests import factories as f
from tests.factories import target_node as node

pytestmark = pytest.mark.django_db
D = Decimal
ROLES = ["rep_a1", "mgr_a", "viewer_a", "east_mgr", "mgr_w", "director", "admin"]
#: the recommendation's inputs as the plan page posts them
RECOMPUTE = {
    "metric": "booked_revenue",
    "growth_pct": "5",
    "floor_probability": "80",
    "target_probability": "50",
    "stretch_probability": "30",
}


@pytest.fixture
def plan(org):
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=plan, metric="booked_revenue")
    return plan


# whose target → who may see it / who may set it (rules: managers set below them, never their own)
TARGETS = {"rep_a1": "rep_a1", "peer": "rep_a2", "other_branch": "rep_w1", "team_a": None}
SEES = {
    "rep_a1": {"rep_a1"},
    "mgr_a": {"rep_a1", "peer", "team_a"},
    "viewer_a": {"rep_a1", "peer", "team_a"},
    "east_mgr": {"rep_a1", "peer", "team_a"},
    "mgr_w": {"other_branch"},
    "director": {"rep_a1", "peer", "other_branch", "team_a"},
    "admin": {"rep_a1", "peer", "other_branch", "team_a"},
}
SETS = {
    "rep_a1": set(),
    "mgr_a": {"rep_a1", "peer"},
    "viewer_a": set(),
    "east_mgr": {"rep_a1", "peer", "team_a"},
    "mgr_w": {"other_branch"},
    "director": {"rep_a1", "peer", "other_branch", "team_a"},
    "admin": {"rep_a1", "peer", "other_branch", "team_a"},
}


def target_for(org, plan, key):
    return (
        node(plan, unit=org.team_a)
        if key == "team_a"
        else node(plan, member=getattr(org, TARGETS[key]))
    )


@pytest.mark.parametrize("role", ROLES)
def test_save_matrix(client, org, plan, login, role):
    login(getattr(org, role))
    for key in TARGETS:
        t = target_for(org, plan, key)
        response = client.post(
            reverse("targets:save", args=[t.pk]),
            {"floor": "1", "target": "2", "stretch": "3", "version": t.lock_version},
        )
        t.refresh_from_db()
        if role == "viewer_a":
            assert response.status_code == 403
        elif key not in SEES[role]:
            assert response.status_code == 404, (role, key)
        elif key in SETS[role]:
            assert response.status_code == 200 and t.target == D(2), (role, key)
            continue
        else:
            assert response.status_code == 400, (role, key, response.status_code)
            assert "below you" in response.content.decode()
        assert t.target == 0, (role, key)


@pytest.mark.parametrize("role", ROLES)
def test_method_split_and_propose_matrix(client, org, plan, login, role):
    login(getattr(org, role))
    team = node(plan, unit=org.team_a)
    response = client.post(reverse("targets:method", args=[team.pk]), {"method": "equal"})
    team.refresh_from_db()
    expected_method = {
        "mgr_a": 200,
        "east_mgr": 200,
        "director": 200,
        "admin": 200,
        "rep_a1": 404,
        "mgr_w": 404,
        "viewer_a": 403,
    }
    assert response.status_code == expected_method[role]
    assert (team.method == "equal") == (expected_method[role] == 200)
    own = node(plan, member=org.rep_a1)
    response = client.post(
        reverse("targets:propose", args=[own.pk]), {"value": "5000", "comment": "x"}
    )
    created = Proposal.objects.filter(target=own).exists()
    if role == "viewer_a":
        assert response.status_code == 403
    elif role == "mgr_w":
        assert response.status_code == 404
    else:
        assert response.status_code == 302
    assert created == (role == "rep_a1")  # only the owner proposes for themselves


@pytest.mark.parametrize("role", ROLES)
def test_plan_pages_open_and_show_only_what_the_role_may_see(client, org, plan, login, role):
    login(getattr(org, role))
    for name in ("targets:plan", "targets:reconcile", "targets:history", "targets:export"):
        assert client.get(reverse(name, args=[plan.pk])).status_code == 200, name
    page = (
        client.get(reverse("targets:plan", args=[plan.pk]))
        .content.decode()
        .split('id="tree"', 1)[1]
    )
    if role == "rep_a1":
        assert (
            "Rep_A1" in page
            and "Rep_A2" not in page
            and "Team A" not in page
            and "Company" not in page
        )
    if role == "mgr_w":
        assert "Rep_W1" in page and "Rep_A1" not in page
    assert client.get(reverse("targets:plan", args=[99999])).status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_recompute_and_create_only_for_the_plan_owner_side(client, org, plan, login, role):
    login(getattr(org, role))
    response = client.post(
        reverse("targets:recompute", args=[plan.pk]),
        RECOMPUTE,
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == (200 if role in ("director", "admin") else 403)
    assert PlanRun.objects.filter(plan=plan).exists() == (role in ("director", "admin"))
    response = client.post(reverse("targets:plan_create"), {"fiscal_year": "2028"})
    assert response.status_code == (302 if role in ("director", "admin") else 403)


def test_recompute_runs_the_task_and_reports(client, org, plan, login):
    login(org.director)
    response = client.post(
        reverse("targets:recompute", args=[plan.pk]),
        RECOMPUTE,
        HTTP_HX_REQUEST="true",
    )
    run = PlanRun.objects.get(plan=plan)
    assert run.status == "done", run.message
    assert response["HX-Refresh"] == "true"
    changed = Target.objects.filter(plan=plan, metric="booked_revenue").count()
    assert run.targets_changed == changed  # a first computation sets every target
    text = response.content.decode()
    assert f"{changed} targets changed, {run.forecasts_computed} forecasts computed" in text
    page = client.get(reverse("targets:plan", args=[plan.pk])).content.decode()
    assert 'data-testid="run-done"' in page and 'data-testid="recompute-note"' in page
    login(org.rep_a1)  # the computation is the director's business, not the reps'
    assert (
        'data-testid="run-done"'
        not in client.get(reverse("targets:plan", args=[plan.pk])).content.decode()
    )
    login(org.director)
    # without JavaScript the same form posts and comes back to the plan page
    plain = client.post(
        reverse("targets:recompute", args=[plan.pk]),
        RECOMPUTE,
    )
    assert plain.status_code == 302 and plain["Location"].startswith(
        reverse("targets:plan", args=[plan.pk])
    )
    assert client.get(reverse("targets:run", args=[plan.pk, run.pk])).status_code == 200


def test_a_computation_of_another_day_is_a_quiet_line_not_news(
    client, org, plan, login, time_machine
):
    """The green 'Computed in … s' banner is for the moment after; a day later the page says
    only when the plan was last computed and by whom."""
    from django.utils import timezone

    time_machine.move_to("2026-11-20 09:00:00+08:00", tick=False)
    login(org.director)
    client.post(reverse("targets:recompute", args=[plan.pk]), RECOMPUTE)
    url = reverse("targets:plan", args=[plan.pk])
    assert 'data-testid="run-done"' in client.get(url).content.decode()
    time_machine.move_to("2026-11-21 16:30:00+08:00", tick=False)
    page = client.get(url).content.decode()
    assert 'data-testid="run-done"' not in page
    run = PlanRun.objects.get(plan=plan)
    when = timezone.localtime(run.updated_at).strftime("%Y-%m-%d %H:%M")
    assert when.startswith("2026-11-20 09:00")
    assert f"Last computed {when} by {org.director.display_name}." in page
    login(org.rep_a1)
    assert client.get(reverse("targets:run", args=[plan.pk, run.pk])).status_code == 404


def test_a_failed_computation_says_why_in_one_sentence(client, org, plan, login):
    """A failed run's reason reads after the label as one sentence, in Chinese without a space
    after the full-width colon."""
    PlanRun.objects.create(
        plan=plan,
        metric="booked_revenue",
        requested_by=org.director,
        status="failed",
        message="方案已不是草稿",
    )
    login(org.director)
    url = reverse("targets:plan", args=[plan.pk])
    assert "The computation failed: 方案已不是草稿" in client.get(url).content.decode()
    zh = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "计算失败：方案已不是草稿" in zh


def test_bad_recompute_inputs_change_nothing(client, org, plan, login):
    login(org.director)
    response = client.post(
        reverse("targets:recompute", args=[plan.pk]),
        {
            "metric": "booked_revenue",
            "growth_pct": "900",
            "floor_probability": "30",
            "target_probability": "50",
            "stretch_probability": "80",
        },
    )
    assert response.status_code == 400
    assert not PlanRun.objects.exists()
    # without JavaScript: the whole page with the form's errors; with htmx: the form, sent back
    # in place of itself (it posts into the run slot)
    assert "<html" in response.content.decode() and response.context["inputs_form"].errors
    bad = {"metric": "booked_revenue", "floor_probability": "60", "target_probability": "70"}
    partial = client.post(
        reverse("targets:recompute", args=[plan.pk]),
        {**bad, "stretch_probability": "40"},
        HTTP_HX_REQUEST="true",
    )
    assert partial.status_code == 400
    assert partial["HX-Retarget"] == "#inputs" and partial["HX-Reswap"] == "outerHTML show:top"
    html = partial.content.decode()
    assert html.count('id="inputs"') == 1 and "<html" not in html
    assert "The floor must be the most likely, then the target, then the stretch." in html
    assert not PlanRun.objects.exists()


def test_transitions_through_the_page(client, org, plan, login):
    login(org.director)
    # a plan of zeros: the button is there but off, and a submission is refused with the reason
    page = client.get(reverse("targets:plan", args=[plan.pk])).content.decode()
    assert re.search(r'value="submit" disabled title="Every target of this plan is 0', page)
    refused = client.post(
        reverse("targets:transition", args=[plan.pk]),
        {"action": "submit", "version": plan.lock_version},
        follow=True,
    ).content.decode()
    assert "Every target of this plan is 0: compute the recommendation" in refused
    assert Plan.objects.get(pk=plan.pk).status == "draft"
    f.with_a_figure(plan)
    login(org.mgr_a)
    client.post(
        reverse("targets:transition", args=[plan.pk]),
        {"action": "submit", "version": plan.lock_version},
    )
    assert (
        Plan.objects.get(pk=plan.pk).status == "draft"
    )  # a manager may not submit the company plan
    login(org.director)
    client.post(
        reverse("targets:transition", args=[plan.pk]),
        {"action": "submit", "version": plan.lock_version},
    )
    plan.refresh_from_db()
    assert plan.status == "submitted"
    stale = client.post(
        reverse("targets:transition", args=[plan.pk]),
        {"action": "approve", "version": plan.lock_version - 1},
        follow=True,
    )
    assert (
        "Someone else changed" in stale.content.decode()
        or "not by its owner" in stale.content.decode()
    )
    login(org.admin)
    client.post(
        reverse("targets:transition", args=[plan.pk]),
        {"action": "approve", "version": plan.lock_version - 1},
    )
    assert Plan.objects.get(pk=plan.pk).status == "submitted"  # stale version refused
    client.post(
        reverse("targets:transition", args=[plan.pk]),
        {"action": "approve", "version": plan.lock_version},
    )
    client.post(
        reverse("targets:transition", args=[plan.pk]),
        {"action": "activate", "version": plan.lock_version + 1},
    )
    assert Plan.objects.get(pk=plan.pk).status == "active"


def test_export_is_a_real_workbook_with_neutralised_text(client, org, plan, login):
    import io

    from openpyxl import load_workbook

    org.rep_a1.display_name = "=HYPERLINK(evil)"
    org.rep_a1.save()
    login(org.director)
    response = client.get(reverse("targets:export", args=[plan.pk]))
    wb = load_workbook(io.BytesIO(response.content))
    values = [c.value for row in wb.active.iter_rows() for c in row if isinstance(c.value, str)]
    assert any(v.strip().startswith("'=HYPERLINK") for v in values)
    assert not any(v.strip().startswith("=") for v in values)


def test_amounts_typed_with_separators_are_read_and_bad_ones_change_nothing(
    client, org, plan, login
):
    login(org.director)
    t = node(plan, member=org.rep_a1)
    response = client.post(
        reverse("targets:save", args=[t.pk]),
        {
            "floor": "1,200,000",
            "target": "¥1 500 000.50",
            "stretch": "１,８00,000".replace("１", "1").replace("８", "8") + "，",
            "version": t.lock_version,
        },
    )
    assert response.status_code == 200
    t.refresh_from_db()
    assert (t.floor, t.target, t.stretch) == (D("1200000"), D("1500000.50"), D("1800000"))
    # the box shows the value back with separators
    assert 'value="1,500,000.50"' in response.content.decode()
    bad = client.post(
        reverse("targets:save", args=[t.pk]),
        {"floor": "1,2x0", "target": "2", "stretch": "3", "version": t.lock_version},
    )
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "Rep_A1: Floor: Type a number, e.g. 5,040,000 or 504万." in html
    # only the refused cell is marked
    assert re.search(r'name="floor" value="1,2x0" aria-invalid="true"', html)
    assert not re.search(r'name="target" value="2" aria-invalid', html)
    t.refresh_from_db()
    assert t.floor == D("1200000")
    # one sentence said of two cells once, each named; 万 read as Excel users write it
    bad = client.post(
        reverse("targets:save", args=[t.pk]),
        {"floor": "-1", "target": "150万", "stretch": "-2", "version": t.lock_version},
    )
    assert "Rep_A1: Floor, Stretch: Cannot be negative." in bad.content.decode()
    # commas that group no thousands are a slip, not a number read without them
    slip = client.post(
        reverse("targets:save", args=[t.pk]),
        {
            "floor": "1,2,3",
            "target": "1,500,000",
            "stretch": "18,00,000",
            "version": t.lock_version,
        },
    )
    assert (
        "Rep_A1: Floor, Stretch: Type a number, e.g. 5,040,000 or 504万." in slip.content.decode()
    )
    # so is an exponent: "1e6" is no amount anyone types on purpose
    exp = client.post(
        reverse("targets:save", args=[t.pk]),
        {"floor": "1e6", "target": "1.5E6", "stretch": "2000000", "version": t.lock_version},
    )
    assert exp.status_code == 400
    assert "Rep_A1: Floor, Target: Type a number, e.g. 5,040,000 or 504万." in exp.content.decode()
    t.refresh_from_db()
    assert t.floor == D("1200000")
    ok = client.post(
        reverse("targets:save", args=[t.pk]),
        {"floor": "120万", "target": "150万", "stretch": "0.018亿", "version": t.lock_version},
    )
    html = ok.content.decode()
    assert ok.status_code == 200, html[html.find("tree-error") :][:300]
    t.refresh_from_db()
    assert (t.floor, t.target, t.stretch) == (D(1200000), D(1500000), D(1800000))


def test_history_tells_who_changed_which_target_how(client, org, plan, login):
    login(org.director)
    t = node(plan, member=org.rep_a1)
    client.post(
        reverse("targets:save", args=[t.pk]),
        {"floor": "100", "target": "200", "stretch": "300", "version": t.lock_version},
    )
    page = client.get(reverse("targets:history", args=[plan.pk])).content.decode()
    assert "Values set" in page
    assert f"{org.rep_a1.display_name} · Booked revenue" in page
    assert "Target: ¥0 → ¥200" in page and "Stretch: ¥0 → ¥300" in page  # money reads as money
    assert "Plan created" in page and "targets.plan" not in page and "target.set" not in page
    # a rep does not see the plan's event log
    login(org.rep_a1)
    assert (
        "Values set" not in client.get(reverse("targets:history", args=[plan.pk])).content.decode()
    )


def test_round_targets_to_is_offered_for_money_and_checked(client, org, plan, login):
    login(org.director)
    page = client.get(reverse("targets:plan", args=[plan.pk]) + "?metric=booked_revenue")
    assert b'name="round_to"' in page.content and "¥10,000".encode() in page.content
    counts = client.get(reverse("targets:plan", args=[plan.pk]) + "?metric=deals_won")
    assert counts.status_code == 200 and b'name="round_to"' not in counts.content
    form = {
        "metric": "booked_revenue",
        "growth_pct": "5",
        "floor_probability": "80",
        "target_probability": "50",
        "stretch_probability": "30",
    }
    bad = client.post(reverse("targets:recompute", args=[plan.pk]), {**form, "round_to": "250"})
    assert bad.status_code == 400 and b"Select a valid choice" in bad.content
    assert not PlanRun.objects.exists()
    ok = client.post(reverse("targets:recompute", args=[plan.pk]), {**form, "round_to": "10000"})
    assert ok.status_code == 302
    run = PlanRun.objects.get()
    assert run.status == "done" and run.inputs["round_to"] == 10_000
    plan.refresh_from_db()
    assert plan.assumptions["booked_revenue"]["round_to"] == 10_000
    # the form comes back with the unit chosen
    page = client.get(reverse("targets:plan", args=[plan.pk]) + "?metric=booked_revenue")
    assert b'<option value="10000" selected>' in page.content


def set_levels(target, values, member):
    """Type a floor, a target and a stretch on ``target`` as ``member``."""
    floor, value, stretch = (D(v) for v in values)
    s.target_set(target=target, floor=floor, target_value=value, stretch=stretch, actor=member.user)


def test_split_down_by_hand_keeps_the_plans_round_figures(org, plan):
    """Split down on a node after a hand edit splits in the plan's rounding unit too."""
    plan.assumptions = {"booked_revenue": {"round_to": 1000}}
    plan.save(update_fields=["assumptions"])
    team_a = node(plan, unit=org.team_a)
    set_levels(team_a, ("300000", "400000", "450000"), org.director)
    kids = list(team_a.children.order_by("pk"))
    s.target_allocate(
        target=Target.objects.get(pk=team_a.pk),
        weights={k.pk: 1 for k in kids},
        actor=org.director.user,
    )
    # three equal children in ¥1,000 steps: 400 steps → 134 / 133 / 133; floor 300 → 100 each
    # (the step down of 100 steps: 34 / 33 / 33); stretch: 50 steps up → 17 / 17 / 16
    got = [(k.floor, k.target, k.stretch) for k in team_a.children.order_by("pk")]
    assert got == [
        (D("100000.00"), D("134000.00"), D("151000.00")),
        (D("100000.00"), D("133000.00"), D("150000.00")),
        (D("100000.00"), D("133000.00"), D("149000.00")),
    ]
    for k in team_a.children.all():
        months = list(k.months.all())
        assert sum(m.target_value for m in months) == k.target
        assert all(m.target_value % 1000 == 0 for m in months)  # 133 steps over 12 months


@pytest.mark.parametrize(
    ("role", "owner", "figure"),
    [
        ("director", "Company", "¥1.20M"),  # English compact money: ¥1,200,000 → ¥1.20M
        ("mgr_a", "Team A", "¥400k"),
        ("rep_a1", "Rep_A1", "¥133k"),
        ("mgr_w", "Team W", "¥0"),  # Team W's total was never set
    ],
)
def test_plans_list_shows_each_reader_their_own_headline(
    client, org, plan, login, role, owner, figure
):
    for who, values in (
        (node(plan, unit=org.company), ("1000000", "1200000", "1400000")),
        (node(plan, unit=org.team_a), ("300000", "400000", "450000")),
        (node(plan, member=org.rep_a1), ("100000", "133000", "150000")),
    ):
        set_levels(who, values, org.admin)
    login(getattr(org, role))
    html = client.get(reverse("targets:plans")).content.decode()
    row = html.split('data-testid="plan-2027-v1"')[1].split("</tr>")[0]
    assert f"<td>{owner}</td>" in row
    assert f"<strong>{figure}</strong>" in row
    for other in {"Company", "Team A", "Rep_A1", "Team W"} - {owner}:
        assert f"<td>{other}</td>" not in row


def test_an_active_plan_says_from_which_month_a_revision_counts(client, org, login, history):
    """On 20 November 2026 a revision of FY2026 keeps January–October: the page says the
    change goes into 2026-11 onwards. A plan whose year has not begun says nothing."""
    for year in (2026, 2027):
        plan = s.plan_create(fiscal_year=year, owner=org.director, actor=org.director.user)
        s.plan_build_tree(plan=plan, metric="booked_revenue")
        s.plan_submit(plan=f.with_a_figure(plan), actor=org.director.user)
        s.plan_approve(plan=plan, actor=org.admin.user)
        s.plan_activate(plan=plan, actor=org.admin.user)
    login(org.mgr_a)
    current, coming = Plan.objects.order_by("fiscal_year")
    page = client.get(reverse("targets:plan", args=[current.pk])).content.decode()
    assert 'data-testid="revision-from"' in page and "goes into 2026-11" in page
    page = client.get(reverse("targets:plan", args=[coming.pk])).content.decode()
    assert 'data-testid="revision-from"' not in page


@pytest.mark.parametrize("role", ROLES)
def test_the_move_page_follows_who_may_move_whom(org, plan, login, role):
    """Rep_A1's move page: a viewer 403; hidden (mgr_w) 404; Rep_A1 and Team A's manager, with
    no team they may move Rep_A1 to, 403; East's manager sees Team B offered (not West's teams);
    the director and the admin every other team."""
    client = login(getattr(org, role))
    url = reverse("targets:move", args=[org.rep_a1.pk]) + f"?plan={plan.pk}"
    response = client.get(url)
    expected = {"viewer_a": 403, "mgr_w": 404, "rep_a1": 403, "mgr_a": 403}.get(role, 200)
    assert response.status_code == expected, role
    if expected == 200:
        options = {u.name for u in response.context["form"].fields["unit"].queryset}
        assert options == (
            {"Team B", "East"}
            if role == "east_mgr"
            else {"Company", "East", "West", "Team B", "Team W"}
        )
        assert response.context["back"] == plan
        html = response.content.decode()
        assert "Rep_A1 is in Team A today" in html and f"{plan.name} v1" in html
        # each team with the units above it, and no team chosen until one is picked
        assert ">East › Team B</option>" in html and ">Choose a team…</option>" in html


def test_moving_from_the_page_redirects_to_the_plan_and_bad_input_changes_nothing(org, plan, login):
    client = login(org.east_mgr)
    url = reverse("targets:move", args=[org.rep_a1.pk]) + f"?plan={plan.pk}"
    bad = client.post(url, {"unit": org.team_w.pk, "reason": "支援西区的新客户"})
    assert bad.status_code == 400 and "unit" in bad.context["form"].errors  # not offered
    short = client.post(url, {"unit": org.team_b.pk, "reason": "x"})
    assert short.status_code == 400 and "reason" in short.context["form"].errors
    org.rep_a1.refresh_from_db()
    assert org.rep_a1.org_unit == org.team_a
    done = client.post(url, {"unit": org.team_b.pk, "reason": "支援 B 组的新客户"})
    assert done.status_code == 302 and done["Location"] == reverse("targets:plan", args=[plan.pk])
    org.rep_a1.refresh_from_db()
    assert org.rep_a1.org_unit == org.team_b
    assert node(plan, member=org.rep_a1).parent == node(plan, unit=org.team_b)
    # the plan page offers "Move" on people's rows to those who may move people, not to reps
    page = client.get(reverse("targets:plan", args=[plan.pk])).content.decode()
    assert reverse("targets:move", args=[org.rep_a2.pk]) in page
    rep_page = login(org.rep_a2).get(reverse("targets:plan", args=[plan.pk])).content.decode()
    assert "move-link" not in rep_page


def test_a_year_with_a_plan_gets_versions_not_a_second_empty_plan(client, org, plan, login):
    login(org.director)
    page = client.get(reverse("targets:plans")).content.decode()
    assert 'name="fiscal_year" value="2028"' in page  # 2027 has its plan: the next free year
    response = client.post(reverse("targets:plan_create"), {"fiscal_year": "2027"}, follow=True)
    assert Plan.objects.filter(fiscal_year=2027).count() == 1
    assert response.redirect_chain[-1][0] == reverse("targets:plan", args=[plan.pk])
    assert "FY2027 already has a plan" in response.content.decode()
    assert client.get(reverse("targets:plan_create")).status_code == 302  # no bare 405


def test_refusals_and_missing_pages_speak_the_users_language(client, org, plan, login):
    login(org.rep_a1)
    refused = client.get(reverse("targets:import", args=[plan.pk]))
    assert refused.status_code == 403
    assert 'data-testid="error-page"' in refused.content.decode()
    assert "Your role does not allow this here" in refused.content.decode()
    client.post(reverse("set_language"), {"language": "zh-hans"})
    missing = client.get(reverse("targets:plan", args=[999999]))
    assert missing.status_code == 404 and "未找到" in missing.content.decode()
    assert "今日工作" in missing.content.decode()  # the sidebar is there: a way back


def test_the_comparison_asks_for_a_plan_when_it_has_none_to_show(client, org, plan, login):
    """A plan with no earlier version nor last year's plan: the selector asks for one instead
    of showing the first plan as if it were chosen."""
    s.plan_create(fiscal_year=2030, owner=org.director, actor=org.director.user)  # years away
    login(org.director)
    page = client.get(reverse("targets:compare", args=[plan.pk])).content.decode()
    assert '<option value="" selected disabled>Choose a plan to compare with…</option>' in page


def test_the_history_names_a_product_line_and_counts_hires_in_people(client, org, plan, login):
    login(org.director)
    code = org.product_line.code
    client.post(
        reverse("targets:recompute", args=[plan.pk]),
        {
            **RECOMPUTE,
            f"uplift_{code}": "20000",
            "hire0_month": "3",
            "hire0_fte": "2",
            "hire0_ramp": "3",
        },
    )
    history = client.get(reverse("targets:history", args=[plan.pk])).content.decode()
    assert f"Uplift {org.product_line.name} 20,000" in history
    assert f"Uplift {code} " not in history or code == org.product_line.name
    assert "2 planned hires" in history


def test_a_computation_no_worker_took_says_so_after_a_while(client, org, plan, login, time_machine):
    """Queued and not started (no worker running): the page follows it quietly at first, then
    says that no background worker has started it and what to do, with the seconds waited."""
    time_machine.move_to("2026-11-20 09:00:00+08:00", tick=False)
    run = PlanRun.objects.create(
        plan=plan, metric="booked_revenue", requested_by=org.director, inputs={}
    )
    login(org.director)
    url = reverse("targets:run", args=[plan.pk, run.pk])
    time_machine.move_to("2026-11-20 09:00:12+08:00", tick=False)
    first = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Waiting to start…" in first and 'data-testid="job-waiting"' not in first
    time_machine.move_to("2026-11-20 09:00:45+08:00", tick=False)
    later = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "No background worker has started it in 45 seconds." in later
    assert "salesloop worker" in later and 'hx-trigger="every 1s"' in later  # still following
    run.status = PlanRun.Status.RUNNING  # a worker took it: the notice goes
    run.save()
    assert (
        'data-testid="job-waiting"' not in client.get(url, HTTP_HX_REQUEST="true").content.decode()
    )


def test_a_new_plan_offers_round_figures_in_10000s(client, org, plan, login):
    """A director writes ¥1,200万, not ¥12,003,456.78: a plan not computed yet offers targets
    rounded to ¥10,000; one computed to the cent offers what it was computed with."""
    import re

    login(org.director)
    url = reverse("targets:plan", args=[plan.pk])

    def chosen():
        page = client.get(url).content.decode()
        select = re.search(r'<select name="round_to".*?</select>', page, re.S)[0]
        return re.search(r'<option value="(\d+)" selected', select)[1]

    assert chosen() == "10000"
    client.post(reverse("targets:recompute", args=[plan.pk]), {**RECOMPUTE, "round_to": "0"})
    assert chosen() == "0"
