"""The dashboard pages: visibility of every figure, drill-down, filters in the URL, query counts."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from salesloop.insights.rollups import rollup_refresh
from tests.insights.conftest import at

pytestmark = pytest.mark.django_db


def figures(response):
    return {k: json.loads(v) for k, v in response.context["figures_json"].items()}


def test_rep_sees_no_other_reps_name_or_number(client, org, sales, login):
    login(org.rep_a1)
    response = client.get("/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    blob = html + json.dumps(figures(response))
    for other in (
        "Rep_A2",
        "Rep_W1",
        "Rep_B1",
        "Mgr_A",
        "East",
    ):  # (the sidebar names their own team)
        assert other not in blob, other
    for number in ("99999", "99,999", "77777", "77,777"):
        assert number not in blob, number  # rep_w1's order and deal
    assert response.context["card"].actual == 50000  # their own, not the team's 60 000
    assert response.context["children_rows"] == []
    assert "50,000" in html or "50000" in blob


@pytest.mark.parametrize("node", ["u{team_a}", "u{company}", "m{rep_a2}", "u{east}"])
def test_rep_cannot_open_another_node(client, org, sales, login, node):
    login(org.rep_a1)
    key = node.format(
        team_a=org.team_a.pk, company=org.company.pk, rep_a2=org.rep_a2.pk, east=org.east.pk
    )
    assert client.get(f"/dashboard/?node={key}").status_code == 404


def test_manager_sees_only_their_subtree(client, org, sales, login):
    login(org.mgr_a)
    response = client.get("/dashboard/")
    blob = response.content.decode() + json.dumps(figures(response))
    assert "Rep_A1" in blob and "Rep_A2" in blob
    assert "Rep_W1" not in blob and "99999" not in blob and "99,999" not in blob
    assert client.get(f"/dashboard/?node=u{org.west.pk}").status_code == 404
    assert client.get(f"/dashboard/?node=m{org.rep_w1.pk}").status_code == 404
    assert client.get(f"/dashboard/?node=u{org.company.pk}").status_code == 404


def test_director_drills_from_company_to_rep_to_deals(client, org, sales, login):
    login(org.director)
    top = client.get("/dashboard/?period=quarter")
    assert top.context["scope"].node.key == f"u{org.company.pk}"
    assert [c.name for c in top.context["scope"].children] == ["East", "West", "Admin", "Director"]
    html = top.content.decode()
    assert f'data-drill="u{org.east.pk}"' in html
    east = client.get(f"/dashboard/?node=u{org.east.pk}&period=quarter")
    assert [c.name for c in east.context["scope"].children] == ["Team A", "Team B", "East_Mgr"]
    team = client.get(f"/dashboard/?node=u{org.team_a.pk}&period=quarter")
    assert f"/opportunities/?owner={org.rep_a1.pk}&amp;status=open" in team.content.decode()
    rep = client.get(f"/dashboard/?node=m{org.rep_a1.pk}&period=quarter")
    assert rep.context["card"].actual == 50000
    # the crumbs lead back up
    assert [c.name for c in rep.context["scope"].crumbs] == ["Company", "East", "Team A"]


def test_filters_are_kept_in_links(client, org, sales, login):
    login(org.director)
    line = org.product_line.pk
    r = client.get(f"/dashboard/?node=u{org.east.pk}&period=month&on=2025-05-01&line={line}")
    scope = r.context["scope"]
    assert scope.period.start == date(2025, 5, 1) and scope.product_line.pk == line
    html = r.content.decode()
    assert f"node=u{org.team_a.pk}" in html and "period=month" in html and f"line={line}" in html
    prev = r.context["prev_query"]
    assert "on=2025-04-01" in prev and "period=month" in prev


def test_figures_hold_the_numbers(client, org, sales, login):
    login(org.mgr_a)
    figs = figures(client.get("/dashboard/"))
    burn = figs["burn_up"]["data"]
    actual = next(t for t in burn if t["name"] == "Actual")
    assert max(v for v in actual["y"] if v is not None) == 60000.0
    wf = figs["gap_last"]["data"][0]
    assert sum(wf["y"][1:4]) == pytest.approx(wf["y"][4] - wf["y"][0])
    assert figs["funnel"]["data"][0]["x"] == [3.0, 1.0, 1.0, 1.0, 1.0]


def test_every_figure_explains_its_definition(client, org, sales, login):
    login(org.mgr_a)
    html = client.get("/dashboard/").content.decode()
    for needle in (
        "Pace index = actual to date / expected to date",
        "Coverage = open pipeline",
        "Exact LMDI split",
        "Win rate = won / (won + lost)",
        "ever reached each stage",
    ):
        assert needle in html


@pytest.mark.parametrize("who", ["director", "mgr_a", "rep_a1"])
def test_query_counts(client, org, sales, login, who, django_assert_max_num_queries):
    rollup_refresh(today=date(2025, 5, 15), first=date(2024, 1, 1))
    login(getattr(org, who))
    client.get("/dashboard/")  # calibration computed once
    with django_assert_max_num_queries(90):
        assert client.get("/dashboard/").status_code == 200


def test_home_still_works(client, org, login):
    login(org.rep_a1)
    assert client.get("/").status_code == 200


def test_apply_keeps_the_period_and_only_the_range_form_sends_dates(client, org, sales, login):
    login(org.director)
    html = client.get("/dashboard/?period=month&on=2025-05-01").content.decode()
    apply = html.split('data-testid="filter-form"')[1].split("</form>")[0]
    assert 'name="period" value="month"' in apply and 'name="on" value="2025-05-01"' in apply
    assert 'name="from"' not in apply and 'name="to"' not in apply
    rng = html.split('data-testid="range-form"')[1].split("</form>")[0]
    assert 'name="period" value="custom"' in rng and 'name="from"' in rng and 'name="to"' in rng
    custom = client.get("/dashboard/?period=custom&from=2025-04-03&to=2025-05-06").content.decode()
    apply = custom.split('data-testid="filter-form"')[1].split("</form>")[0]
    assert 'name="from" value="2025-04-03"' in apply and 'name="period" value="custom"' in apply


def test_members_without_figures_are_left_out_of_the_leaderboard(client, org, sales, login):
    login(org.director)
    r = client.get("/dashboard/?period=quarter")
    shown = [row["node"].name for row in r.context["children_rows"]]
    assert "East" in shown and "West" in shown
    assert "Admin" not in shown and "Director" not in shown  # company members with nothing
    assert r.context["hidden_children"] == 2
    assert "2 members without figures not shown" in r.content.decode()


def test_on_the_first_working_day_the_pace_waits(client, org, sales, login, time_machine):
    """Tuesday 3 June 2025, June's first working day: the month's pace card shows no index and
    says when it will (not 0.00 in red); the quarter begun in April shows its pace."""
    time_machine.move_to(at(date(2025, 6, 3), 9), tick=False)
    login(org.rep_a1)
    month = client.get("/dashboard/?period=month").content.decode()
    assert 'data-testid="pace">—</span>' in month and 'data-testid="pace-later"' in month
    # no gap to the expected-to-date by driver either (it would blame the morning)
    assert 'data-testid="chart-gap-target"' not in month
    # nothing created yet this month: a sentence, not a funnel of five empty rows
    assert 'data-testid="funnel-empty"' in month and 'data-testid="chart-funnel"' not in month
    quarter = client.get("/dashboard/?period=quarter").content.decode()
    assert 'data-testid="pace-later"' not in quarter
    assert 'data-testid="chart-funnel"' in quarter and 'data-testid="chart-gap-target"' in quarter
    assert re.search(r'data-testid="pace">\d\.\d\d</span>', quarter)


PLACEHOLDER = re.compile(r"%\{[^}]*\}|<extra></extra>|<br>")
WORD = re.compile(r"[A-Za-z]{3,}")


def chart_words(figure: dict) -> list[str]:
    """The words a reader meets on a chart — trace names, hovers (templates and their
    precomputed parts), bar texts, annotations, axis labels — but the data's own names (the
    categories on the axes: people, units, stages)."""
    out = []
    for trace in figure["data"]:
        categories = {str(v) for key in ("x", "y", "labels") for v in trace.get(key) or []}
        out.append(str(trace.get("name") or ""))
        out.append(PLACEHOLDER.sub(" ", trace.get("hovertemplate") or ""))
        for key in ("customdata", "text"):
            values = trace.get(key) or []
            for v in values if isinstance(values, list) else [values]:
                text = PLACEHOLDER.sub(" ", str(v))
                for name in categories:
                    text = text.replace(name, " ")
                out.append(text)
    layout = figure["layout"]
    out += [str(a.get("text", "")) for a in layout.get("annotations") or []]
    for axis in ("xaxis", "yaxis"):
        out += [str(t) for t in (layout.get(axis) or {}).get("ticktext") or []]
    return [w for text in out for w in WORD.findall(text)]


def test_every_chart_has_its_own_hover(client, org, sales, login):
    """No trace is left to Plotly's default hover (English: "of previous", "of initial")."""
    login(org.mgr_a)
    figs = figures(client.get("/dashboard/?period=quarter"))
    assert "funnel" in figs
    for key, fig in figs.items():
        for trace in fig["data"]:
            assert trace.get("hovertemplate"), (key, trace.get("type"))


def test_every_chart_speaks_the_readers_language(client, org, sales, login):
    """A Chinese reader meets no English word on any chart of the dashboard (the data's own
    names aside). Needs the zh-Hans catalogue entries of the funnel and heatmap hovers."""
    org.mgr_a.language = "zh-hans"
    org.mgr_a.save(update_fields=["language"])
    login(org.mgr_a)
    figs = figures(client.get("/dashboard/?period=quarter"))
    assert {"funnel", "burn_up", "gap_last", "heatmap", "trend"} <= set(figs)
    english = {key: chart_words(fig) for key, fig in figs.items()}
    assert not any(english.values()), english
    funnel = figs["funnel"]["data"][0]
    assert funnel["customdata"][1].startswith("到达数：") and "占上一步" in funnel["customdata"][1]


def test_a_period_that_is_over_reads_actual_not_actual_to_date(client, org, sales, login):
    """April 2025 seen on 15 May: its actual is not "to date", its deals were won, not "won to
    date"; the quarter under way still reads "to date"."""
    login(org.director)
    april = client.get("/dashboard/?period=month&on=2025-04-01")
    html = april.content.decode()
    assert ">Actual<" in html and "Actual to date</span>" not in html
    from html import unescape

    figures = unescape(html)
    assert "Won to<br>date" not in figures and '"Expected<br>from deals"' in figures
    assert '"Won"' in figures
    now = client.get("/dashboard/?period=quarter").content.decode()
    assert "Actual to date</span>" in now
