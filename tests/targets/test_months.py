"""A draft target's monthly split set by hand (a share per month), on the page and over the API:
exact months, the subtree with its locks, bad shares refused with nothing changed, the roles,
stale edits, and the history."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from salesloop.common.models import AuditEvent
from salesloop.targets import services as s
from salesloop.targets.models import Target
from tests import factories as f
from tests.api.conftest import ApiClient
from tests.factories import target_node as node

pytestmark = pytest.mark.django_db
D = Decimal
SHARES = ["5", "5", "5", "5", "10", "10", "10", "10", "10", "10", "10", "10"]  # = 100


@pytest.fixture
def plan(org):
    """FY2027: Team A 1,200,000 (floor 1,000,000, stretch 1,500,000) split to its people."""
    return f.team_a_plan(org)[0]


def months(t):
    return list(t.months.order_by("month").values_list("floor", "target_value", "stretch"))


def test_the_months_follow_the_shares_exactly(org, plan):
    team = node(plan, unit=org.team_a)
    s.target_set_months(target=team, weights=s.month_weights(SHARES), actor=org.director.user)
    got = months(team)
    # 5 % of 1,200,000 = 60,000 in each of the first four months, 10 % = 120,000 after
    assert [m[1] for m in got] == [D(60000)] * 4 + [D(120000)] * 8
    assert [m[0] for m in got] == [D(50000)] * 4 + [D(100000)] * 8
    assert [m[2] for m in got] == [D(75000)] * 4 + [D(150000)] * 8
    team.refresh_from_db()
    assert (team.floor, team.target, team.stretch) == (D(1000000), D(1200000), D(1500000))


def test_shares_are_scaled_to_the_whole_and_cents_add_up(org, plan):
    """Thirds of a year that does not divide: the months add up to the cent, floor ≤ target ≤
    stretch in each, and shares that sum to 3 mean the same as percentages."""
    rep = node(plan, member=org.rep_a1)
    s.target_set(
        target=rep,
        floor=D("1000.00"),
        target_value=D("1000.01"),
        stretch=D("1000.03"),
        actor=org.director.user,
    )
    s.target_set_months(
        target=rep, weights=s.month_weights(["1", "1", "1"] + ["0"] * 9), actor=org.director.user
    )
    got = months(rep)
    assert sum(m[1] for m in got) == D("1000.01") and sum(m[0] for m in got) == D("1000.00")
    assert sum(m[2] for m in got) == D("1000.03")
    assert all(f <= t <= st for f, t, st in got)
    assert all(m == (0, 0, 0) for m in got[3:])
    assert max(m[1] for m in got[:3]) - min(m[1] for m in got[:3]) <= D("0.01")


def test_the_subtree_follows_but_a_locked_target_keeps_its_months(org, plan):
    team = node(plan, unit=org.team_a)
    a1, a2 = node(plan, member=org.rep_a1), node(plan, member=org.rep_a2)
    s.target_set_locked(target=a2, locked=True, actor=org.director.user)
    a2_before = months(a2)
    version = node(plan, member=org.rep_a1).lock_version
    changed = s.target_set_months(
        target=team,
        weights=s.month_weights(["0"] * 11 + ["100"]),
        actor=org.director.user,
        subtree=True,
    )
    under = set(Target.objects.filter(parent=team).values_list("pk", flat=True))
    assert a1.pk in under and len(under) >= 3  # the reps and the manager's own
    assert {t.pk for t in changed} == {team.pk} | under - {a2.pk}
    a1.refresh_from_db()
    assert [m[1] for m in months(a1)] == [D(0)] * 11 + [a1.target]  # all in December
    assert months(a2) == a2_before
    assert a1.lock_version == version + 1  # an open editor of the rep's row is now stale
    event = AuditEvent.objects.filter(action="target.months").get()
    assert event.changes["subtree_targets"] == [None, len(under) - 1]
    assert event.changes["months"][1][-1] == str(team.target)


@pytest.mark.parametrize(
    ("shares", "says"),
    [
        (["10"] * 11, "twelve months"),
        (["10"] * 11 + ["-1"], "Month 12"),
        (["abc"] + ["10"] * 11, "Month 1"),
        (["0"] * 12, "add up to zero"),
        (["nan"] + ["10"] * 11, "Month 1"),
        (["inf"] + ["10"] * 11, "Month 1"),
        (["1e6"] + ["10"] * 11, "Month 1"),
        (["1,2,3"] + ["10"] * 11, "Month 1"),
    ],
)
def test_bad_shares_are_refused_with_the_month(shares, says):
    with pytest.raises(ValidationError, match=says):
        s.month_weights(shares)


def test_percent_signs_and_separators_are_read():
    weights = s.month_weights(["8.5%", "1,000"] + ["0"] * 10)
    assert weights.values[0] == pytest.approx(8.5 / 1008.5)
    weights = s.month_weights(["¥1.5万", "30,000", "0.0005亿"] + [""] * 9)
    assert weights.values[:3] == pytest.approx([15 / 95, 30 / 95, 50 / 95])  # 15,000 30,000 50,000


def test_only_a_draft_and_only_below_you(org, plan):
    team = node(plan, unit=org.team_a)
    with pytest.raises(PermissionDenied):  # a manager does not set their own team's target
        s.target_set_months(target=team, weights=s.month_weights(SHARES), actor=org.mgr_a.user)
    with pytest.raises(PermissionDenied):
        s.target_set_months(
            target=node(plan, member=org.rep_a1),
            weights=s.month_weights(SHARES),
            actor=org.rep_a1.user,
        )
    s.target_set_months(  # the manager sets a rep's
        target=node(plan, member=org.rep_a1), weights=s.month_weights(SHARES), actor=org.mgr_a.user
    )
    s.plan_submit(plan=plan, actor=org.director.user)
    before = months(team)
    with pytest.raises(ValidationError, match="send it back to draft"):
        s.target_set_months(target=team, weights=s.month_weights(SHARES), actor=org.director.user)
    assert months(team) == before


def test_a_stale_editor_changes_nothing(org, plan):
    team = node(plan, unit=org.team_a)
    before = months(team)
    with pytest.raises(s.StaleEdit):
        s.target_set_months(
            target=team,
            weights=s.month_weights(SHARES),
            actor=org.director.user,
            expected_version=team.lock_version - 1 if team.lock_version > 1 else 999,
        )
    assert months(team) == before


def test_the_page_shows_the_months_and_saves_them(client, org, plan, login):
    team = node(plan, unit=org.team_a)
    login(org.director)
    url = reverse("targets:months", args=[team.pk])
    page = client.get(url).content.decode()
    assert "2027-01" in page and "2027-12" in page and 'name="m12"' in page
    assert "Split every target under it the same way" in page
    before = months(team)
    bad = client.post(url, {**{f"m{i}": "10" for i in range(1, 12)}, "m12": "-5"})
    assert bad.status_code == 400 and "2027-12: enter a share" in bad.content.decode()
    assert re.search(r"name=\"m12\"[^>]*aria-invalid=\"true\"", bad.content.decode())
    assert months(team) == before
    good = client.post(
        url,
        {**{f"m{i}": v for i, v in enumerate(SHARES, start=1)}, "version": team.lock_version},
    )
    assert good.status_code == 302 and good["Location"].startswith(
        reverse("targets:plan", args=[plan.pk])
    )
    assert [m[1] for m in months(team)] == [D(60000)] * 4 + [D(120000)] * 8
    history = client.get(reverse("targets:history", args=[plan.pk])).content.decode()
    assert "Monthly split set by hand" in history and "5.0% / 5.0%" in history


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("rep_a1", 403),  # their own: not below them
        ("viewer_a", 403),
        ("mgr_a", 200),
        ("mgr_w", 404),  # another branch's: hidden
        ("director", 200),
    ],
)
def test_who_opens_a_reps_months(client, org, plan, login, role, status):
    login(getattr(org, role))
    rep = node(plan, member=org.rep_a1)
    assert client.get(reverse("targets:months", args=[rep.pk])).status_code == status


def api_as(member):
    from salesloop.apitokens.services import token_create

    _token, raw = token_create(user=member.user, name="test", scope="read_write")
    return ApiClient(raw)


def test_over_the_api(org, plan):
    team = node(plan, unit=org.team_a)
    api = api_as(org.director)
    url = f"/api/targets/{team.pk}/months"
    response = api.request("PUT", url, {"shares": [float(v) for v in SHARES]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert [D(str(m["target"])) for m in body["months"]] == [D(60000)] * 4 + [D(120000)] * 8
    assert api.request("PUT", url, {"shares": [1.0] * 11}).status_code in (400, 422)
    zero = api.request("PUT", url, {"shares": [0.0] * 12})
    assert zero.status_code == 422 and "add up to zero" in zero.content.decode()
    stale = api.request("PUT", url, {"shares": [1.0] * 12, "version": 1})
    assert stale.status_code == 409
    assert [D(str(m["target"])) for m in api.get(f"/api/targets/{team.pk}").json()["months"]] == [
        D(60000)
    ] * 4 + [D(120000)] * 8
    other = api_as(org.mgr_w).request("PUT", url, {"shares": [1.0] * 12})
    assert other.status_code == 404


def test_saving_the_shares_as_shown_keeps_the_split_exactly(client, org, plan, login):
    """The page shows rounded shares (12.07 %); saved unchanged they mean the split as it is,
    not the rounded one: the team's months stay to the cent, and with the subtree its people
    take exactly its profile."""
    import re

    team = node(plan, unit=org.team_a)
    s.target_set_months(
        target=team,
        weights=s.month_weights(["7", "11", "13"] + ["3"] * 9),
        actor=org.director.user,
    )
    before = months(team)
    login(org.director)
    url = reverse("targets:months", args=[team.pk])
    page = client.get(url).content.decode()
    shown = dict(re.findall(r'name="(m\d+)" value="([^"]+)"', page))
    assert shown["m1"] == "12.07"  # 7 / 58, rounded for the eye
    team.refresh_from_db()
    response = client.post(url, {**shown, "subtree": "on", "version": team.lock_version})
    assert response.status_code == 302
    assert months(team) == before
    a1 = node(plan, member=org.rep_a1)
    got = [m[1] for m in months(a1)]
    assert sum(got) == a1.target
    for mine, theirs in zip(got, (m[1] for m in before), strict=True):  # the team's profile
        assert abs(mine - a1.target * theirs / team.target) <= D("0.01")


def test_saving_unchanged_without_the_subtree_writes_nothing(client, org, plan, login):
    import re

    team = node(plan, unit=org.team_a)
    login(org.director)
    url = reverse("targets:months", args=[team.pk])
    shown = dict(re.findall(r'name="(m\d+)" value="([^"]+)"', client.get(url).content.decode()))
    version = node(plan, unit=org.team_a).lock_version
    response = client.post(url, {**shown, "version": version}, follow=True)
    assert "Nothing changed" in response.content.decode()
    assert node(plan, unit=org.team_a).lock_version == version
    assert not AuditEvent.objects.filter(action="target.months").exists()


SHARE = st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(
    shares=st.lists(SHARE, min_size=12, max_size=12).filter(lambda xs: sum(xs) > 0),
    floor=st.integers(0, 10**11),
    up=st.integers(0, 10**10),
    up2=st.integers(0, 10**10),
)
def test_any_shares_split_every_level_exactly_and_in_order(shares, floor, up, up2):
    """Whatever shares are typed: each level's months add up to the cent, floor ≤ target ≤
    stretch in every month, a month with no share gets nothing, and a bigger share never gets
    less (cents apart at most)."""
    from salesloop.targets.models import Plan

    plan = Plan(fiscal_year=2027, assumptions={})
    t = Target(
        plan=plan,
        metric="booked_revenue",
        floor=D(floor) / 100,
        target=D(floor + up) / 100,
        stretch=D(floor + up + up2) / 100,
    )
    rows = s._months_for(t, s.month_weights([str(x) for x in shares]), unit=1)
    assert sum(r.floor for r in rows) == t.floor
    assert sum(r.target_value for r in rows) == t.target
    assert sum(r.stretch for r in rows) == t.stretch
    assert all(r.floor <= r.target_value <= r.stretch for r in rows)
    for share, r in zip(shares, rows, strict=True):
        if share == 0:
            assert (r.floor, r.target_value, r.stretch) == (0, 0, 0)
    order = sorted(range(12), key=lambda i: shares[i])
    for a, b in zip(order, order[1:], strict=False):
        if shares[a] < shares[b]:
            assert rows[a].target_value <= rows[b].target_value + D("0.03")


@pytest.fixture
def active(org, plan, time_machine):
    """The same plan, active, on 10 July 2027: January–June are over."""
    s.target_set_months(
        target=node(plan, unit=org.team_a),
        weights=s.month_weights(SHARES),
        actor=org.director.user,
    )
    s.plan_submit(plan=plan, actor=org.director.user)
    s.plan_approve(plan=plan, actor=org.admin.user)
    s.plan_activate(plan=plan, actor=org.admin.user)
    time_machine.move_to("2027-07-10 10:00:00+08:00")
    plan.refresh_from_db()
    return plan


def test_an_active_targets_open_months_are_revised_with_a_reason(org, active):
    from salesloop.targets.models import Revision

    team = node(active, unit=org.team_a)
    before = months(team)  # 60,000 × 4, then 120,000 × 8
    s.target_revise_months(
        target=team,
        weights=s.month_weights(["0"] * 6 + ["1", "1", "1", "1", "1", "3"]),
        reason="年底大单集中在十二月 big deals close in December",
        actor=org.director.user,
    )
    got = months(team)
    assert got[:6] == before[:6]  # over: kept
    left = [team.floor, team.target, team.stretch]
    for level in range(3):
        rest = left[level] - sum(m[level] for m in before[:6])
        # what the year leaves (for the target: 1,200,000 − 480,000 = 720,000), 1:1:1:1:1:3
        assert [m[level] for m in got[6:]] == [rest / 8] * 5 + [rest * 3 / 8]
    assert [m[1] for m in got[6:]] == [D(90000)] * 5 + [D(270000)]
    revision = Revision.objects.get(target=team)
    assert revision.before == revision.after and revision.counts_from == 7
    assert revision.reason.startswith("年底大单")
    team.refresh_from_db()
    assert (team.floor, team.target, team.stretch) == (D(1000000), D(1200000), D(1500000))


def test_a_months_revision_is_refused_without_a_reason_or_in_a_draft(org, plan, active):
    team = node(active, unit=org.team_a)
    before = months(team)
    weights = s.month_weights(["1"] * 12)
    with pytest.raises(ValidationError, match="reason"):
        s.target_revise_months(target=team, weights=weights, reason="x", actor=org.director.user)
    with pytest.raises(ValidationError, match="from 2027-07 on"):
        s.target_revise_months(
            target=team,
            weights=s.month_weights(["1"] * 6 + ["0"] * 6),  # shares only for months over
            reason="只调整已过去的月份",
            actor=org.director.user,
        )
    with pytest.raises(ValidationError, match="year is over"):
        s.target_revise_months(
            target=team,
            weights=weights,
            reason="年度结束后的调整",
            actor=org.director.user,
            on=date(2028, 1, 5),
        )
    with pytest.raises(PermissionDenied):
        s.target_revise_months(
            target=team, weights=weights, reason="经理调整自己团队", actor=org.mgr_a.user
        )
    assert months(team) == before
    draft = s.plan_copy(plan=active, actor=org.director.user)
    with pytest.raises(ValidationError, match="draft is edited directly"):
        s.target_revise_months(
            target=node(draft, unit=org.team_a),
            weights=weights,
            reason="草稿不走调整",
            actor=org.director.user,
        )


def test_the_page_revises_an_active_targets_months(client, org, active, login):
    team = node(active, unit=org.team_a)
    login(org.director)
    url = reverse("targets:months", args=[team.pk])
    page = client.get(url).content.decode()
    assert 'name="m6"' not in page and 'name="m7"' in page  # January–June are over
    assert 'name="reason"' in page and "2027-07" in page
    shares = {f"m{i}": "1" for i in range(7, 13)}
    before = months(team)
    bad = client.post(url, {**shares, "reason": "", "version": team.lock_version})
    assert bad.status_code == 400 and "reason" in bad.content.decode()
    assert months(team) == before
    good = client.post(
        url,
        {**shares, "m12": "3", "reason": "十二月冲刺 December push", "version": team.lock_version},
    )
    assert good.status_code == 302
    assert [m[1] for m in months(team)][6:] == [D(90000)] * 5 + [D(270000)]
    history = client.get(reverse("targets:history", args=[active.pk])).content.decode()
    assert "Monthly split only" in history and "December push" in history


def test_over_the_api_an_active_targets_months_need_a_reason(org, active):
    team = node(active, unit=org.team_a)
    api = api_as(org.director)
    url = f"/api/targets/{team.pk}/months"
    shares = [0.0] * 6 + [1.0] * 5 + [3.0]
    before = months(team)
    no_reason = api.request("PUT", url, {"shares": shares})
    assert no_reason.status_code == 422 and "reason" in no_reason.content.decode()
    assert months(team) == before
    response = api.request("PUT", url, {"shares": shares, "reason": "十二月冲刺 December push"})
    assert response.status_code == 200, response.content
    got = [D(str(m["target"])) for m in response.json()["months"]]
    assert got[:6] == [m[1] for m in before[:6]] and got[6:] == [D(90000)] * 5 + [D(270000)]


def test_the_page_offers_the_parents_split_when_it_has_one(client, org, plan, login):
    team = node(plan, unit=org.team_a)
    s.target_set_months(target=team, weights=s.month_weights(SHARES), actor=org.director.user)
    login(org.director)
    rep_page = client.get(reverse("targets:months", args=[node(plan, member=org.rep_a1).pk]))
    preset = rep_page.content.decode().split('data-testid="preset-parent" data-preset=\'')[1]
    assert preset.startswith('["5.00","5.00","5.00","5.00","10.00"')  # Team A's shares
    east_is_empty = client.get(reverse("targets:months", args=[team.pk])).content.decode()
    assert "preset-parent" not in east_is_empty  # East holds nothing to copy


def test_monthly_amounts_pasted_from_excel_are_taken_as_shares(client, org, plan, login):
    """Team A's 1,200,000 typed as amounts (60,000 for four months, 120,000 for eight, with
    thousands separators): the months are those amounts, to the cent."""
    team = node(plan, unit=org.team_a)
    login(org.director)
    amounts = ["60,000"] * 4 + ["120,000"] * 8
    response = client.post(
        reverse("targets:months", args=[team.pk]),
        {**{f"m{i}": v for i, v in enumerate(amounts, start=1)}, "version": team.lock_version},
    )
    assert response.status_code == 302
    assert [m[1] for m in months(team)] == [D(60000)] * 4 + [D(120000)] * 8


def test_amounts_that_add_up_to_the_year_are_kept_to_the_cent(client, org, plan, login):
    """Team A's 1,200,000 typed as amounts the way Excel users write them (万, ¥, cents) in a
    plan that rounds to thousands: the months are the amounts typed, not round thousands."""
    team = node(plan, unit=org.team_a)
    plan.assumptions = {"booked_revenue": {"round_to": 1000}}
    plan.save(update_fields=["assumptions"])
    login(org.director)
    typed = ["10万", "¥100,000.01", "99,999.99"] + ["100000"] * 8 + ["10.0万"]
    response = client.post(
        reverse("targets:months", args=[team.pk]),
        {**{f"m{i}": v for i, v in enumerate(typed, start=1)}, "version": team.lock_version},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert [m[1] for m in months(team)][:3] == [D(100000), D("100000.01"), D("99999.99")]
    assert all(m[1] == D(100000) for m in months(team)[3:])
    # shares (not amounts of the year) still make round thousands
    team.refresh_from_db()
    client.post(
        reverse("targets:months", args=[team.pk]),
        {**{f"m{i}": "7" for i in range(1, 12)}, "m12": "23", "version": team.lock_version},
    )
    assert [m[1] for m in months(team)] == [D(84000)] * 11 + [D(276000)]


def test_amounts_near_the_year_are_said_in_amounts(client, org, plan, login):
    """Amounts that miss the year's 1,200,000 by 1,000 are named as amounts (not as
    119,900,000 %), with what the largest month would become; nothing is written."""
    team = node(plan, unit=org.team_a)
    before = months(team)
    login(org.director)
    typed = ["99,000"] + ["100,000"] * 11  # 1,199,000
    response = client.post(
        reverse("targets:months", args=[team.pk]),
        {**{f"m{i}": v for i, v in enumerate(typed, start=1)}, "version": team.lock_version},
    )
    assert response.status_code == 400
    html = response.content.decode()
    # 100,000 / 1,199,000 of 1,200,000 = 100,083.40
    assert (
        "The months add up to ¥1,199,000, ¥1,000 short of the year&#x27;s ¥1,200,000: each is "
        "taken as its share of their sum, so 2027-02 would get about ¥100,083.40 (¥100,000 "
        "typed)." in html
    ), html[html.find("months-error") :][:600]
    assert months(team) == before


def test_an_amount_typed_among_percentages_is_saved_only_once_confirmed(client, org, plan, login):
    """1,234,567.89 typed into January with the other months as percentages (8.33 each): the
    shares add up to 1,234,659.5 %, which would put 99.99 % of the year into January. The page
    says so and writes nothing; saved again as they are, they are taken."""
    team = node(plan, unit=org.team_a)
    before = months(team)
    login(org.director)
    url = reverse("targets:months", args=[team.pk])
    typed = {f"m{i}": "8.33" for i in range(1, 13)} | {"m1": "1234567.89"}
    first = client.post(url, {**typed, "version": team.lock_version})
    assert first.status_code == 400
    html = first.content.decode()
    assert (
        "The shares add up to 1,234,659.5 %, not 100 %: each is taken as its share of their sum, "
        "so 2027-01 would get 100.0 % of the year." in html
    )
    assert months(team) == before
    token = re.search(r'name="confirm" value="([0-9a-f]+)"', html)[1]
    assert 'value="1234567.89"' in html  # what was typed stays
    # changed after the warning: warned again
    changed = {**typed, "m2": "9", "version": team.lock_version, "confirm": token}
    assert client.post(url, changed).status_code == 400 and months(team) == before
    # confirmed as they were: taken as shares
    done = client.post(url, {**typed, "version": team.lock_version, "confirm": token})
    assert done.status_code == 302
    after = months(team)
    assert sum(m[1] for m in after) == D(1200000) and after[0][1] > D(1199000)


def test_the_subtrees_months_add_up_to_the_teams_to_the_cent(org, plan):
    """Shares that split no year evenly (sevenths): every person's months still add up to their
    year, and in each month the people add up to the team, at each level."""
    team = node(plan, unit=org.team_a)
    shares = ["1", "2", "4"] * 4
    s.target_set_months(
        target=team, weights=s.month_weights(shares), actor=org.director.user, subtree=True
    )
    kids = list(Target.objects.filter(parent=team))
    team_months = months(team)
    for month in range(12):
        for level in range(3):
            assert sum(months(k)[month][level] for k in kids) == team_months[month][level], (
                month,
                level,
            )
    for k in kids:
        got = months(k)
        assert [sum(m[i] for m in got) for i in range(3)] == [k.floor, k.target, k.stretch]
        assert all(f <= t <= st for f, t, st in got)
        # each keeps the shape: a "4" month holds about four times a "1" month
        if k.target:
            assert abs(got[2][1] / got[0][1] - 4) < D("0.01")


def test_the_plan_page_flags_a_team_whose_people_no_longer_add_up_by_month(
    client, org, plan, login
):
    """Team A's months set by hand without its people's (5 % in the first four months, 10 %
    after: 60,000 and 120,000) while its people keep even months (100,000 a month together):
    the year still adds up, but all twelve months are off, and the plan page says so on Team
    A's row, linking to its months; split again with the subtree, the flag is gone."""
    team = node(plan, unit=org.team_a)
    login(org.director)
    url = reverse("targets:plan", args=[plan.pk]) + "?metric=booked_revenue"
    assert 'data-testid="month-gaps"' not in client.get(url).content.decode()
    s.target_set_months(target=team, weights=s.month_weights(SHARES), actor=org.director.user)
    html = client.get(url).content.decode()
    flag = re.search(
        r'<a class="gap" data-testid="month-gaps" href="([^"]+)"[^>]*>([^<]+)</a>', html
    )
    assert flag is not None
    assert flag[1] == reverse("targets:months", args=[team.pk])
    assert flag[2] == "Σ ✓ · 12 months off"
    assert html.count('data-testid="month-gaps"') == 1  # East and the company still add up
    # three months put back as the people hold them: nine off
    team.refresh_from_db()
    s.target_set_months(
        target=team,
        weights=s.month_weights(["100000"] * 3 + ["80000"] * 4 + ["116000"] * 5),
        actor=org.director.user,
    )
    assert "Σ ✓ · 9 months off" in client.get(url).content.decode()
    team.refresh_from_db()
    s.target_set_months(
        target=team, weights=s.month_weights(SHARES), actor=org.director.user, subtree=True
    )
    assert 'data-testid="month-gaps"' not in client.get(url).content.decode()


def test_a_locked_person_holding_more_of_a_month_than_the_team_is_flagged_not_hidden(
    client, org, plan, login
):
    """Rep_A1, locked, has the whole year in January — more than Team A's even January of
    100,000: the team's months cannot be shared out around it, so each keeps its own split,
    and the plan page says Team A's months are off rather than showing Σ ✓ alone."""
    rep = node(plan, member=org.rep_a1)
    assert rep.target > D(100000)
    s.target_set_months(
        target=rep, weights=s.month_weights(["100"] + ["0"] * 11), actor=org.mgr_a.user
    )
    rep.refresh_from_db()
    s.target_set(
        target=rep,
        floor=rep.floor,
        target_value=rep.target,
        stretch=rep.stretch,
        actor=org.mgr_a.user,
        lock=True,
    )
    team = node(plan, unit=org.team_a)
    s.target_set_months(
        target=team, weights=s.month_weights(["1"] * 12), actor=org.director.user, subtree=True
    )
    assert [m[1] for m in months(rep)][1:] == [D(0)] * 11  # the lock kept its months
    login(org.director)
    html = client.get(
        reverse("targets:plan", args=[plan.pk]) + "?metric=booked_revenue"
    ).content.decode()
    flag = re.search(r'data-testid="month-gaps" href="([^"]+)"[^>]*>([^<]+)</a>', html)
    assert flag is not None and flag[1] == reverse("targets:months", args=[team.pk])
    assert flag[2].startswith("Σ ✓ · ") and flag[2].endswith("months off")
