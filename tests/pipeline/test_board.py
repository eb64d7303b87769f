"""The pipeline board: open stages hold every deal; won and lost stages only the deals closed
in the last 30 days, newest first (years of won deals used to bury the open ones)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from salesloop.pipeline.selectors import CLOSED_DAYS, board_columns
from salesloop.pipeline.services import opportunity_move_stage
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_closed_columns_hold_the_last_30_days_newest_first(org, client, login, time_machine):
    stages = {s.kind: s for s in org.pipeline.stages.all() if s.kind != "open"}
    now = timezone.now()
    time_machine.move_to(now - timedelta(days=60), tick=False)  # the deals are created earlier
    open_deal = f.opportunity(org.rep_a1, amount="1000")
    won = {}
    for days, amount in ((2, "200"), (10, "300"), (CLOSED_DAYS + 5, "5000")):
        deal = f.opportunity(org.rep_a1, amount=amount)
        opportunity_move_stage(
            opportunity=deal,
            stage=stages["won"],
            actor=org.rep_a1.user,
            at=now - timedelta(days=days),
        )
        won[days] = deal
    lost = f.opportunity(org.rep_a1, amount="700")
    opportunity_move_stage(
        opportunity=lost, stage=stages["lost"], actor=org.rep_a1.user, at=now - timedelta(days=40)
    )
    time_machine.move_to(now, tick=False)
    columns = {
        c["stage"].kind if c["closed"] else c["stage"].pk: c
        for c in board_columns(user=org.rep_a1.user, pipeline=org.pipeline)
    }
    won_col = columns["won"]
    # 200 + 300 within 30 days; the 5 000 closed 35 days ago stays off the board
    assert won_col["count"] == 2 and won_col["amount"] == Decimal("500")
    assert [c.pk for c in won_col["cards"]] == [won[2].pk, won[10].pk]  # newest first
    assert columns["lost"]["count"] == 0 and columns["lost"]["cards"] == []
    # an open deal shows whatever its age
    assert any(open_deal.pk in [c.pk for c in col["cards"]] for col in columns.values())
    login(org.rep_a1)
    html = client.get(reverse("pipeline:board")).content.decode()
    assert f"last {CLOSED_DAYS} days: 2 · ¥500" in html
    assert "All deals in this stage" in html
    assert 'placeholder="Search deals or customers"' in html


def test_owner_filter_cards_and_due_dates(org, client, login):
    """A manager filters the board and the list by owner (only the members they may see); cards
    name the owner, drop a customer name the deal's name already starts with, and flag an
    expected close that has passed."""
    today = timezone.localdate()
    acme = f.customer(org.rep_a1, name="Acme Steel")
    named = f.opportunity(org.rep_a1, acme, name="Acme Steel-Cloud", amount="1000")
    late = f.opportunity(
        org.rep_a2, name="Renewal", amount="2000", expected_close=today - timedelta(days=3)
    )
    other_branch = f.opportunity(org.rep_w1, name="West deal", amount="3000")

    login(org.mgr_a)
    html = client.get(reverse("pipeline:board")).content.decode()
    options = html.split('data-testid="owner-filter"')[1].split("</select>")[0]
    assert "Rep_A1" in options and "Rep_A2" in options
    assert "Rep_W1" not in options  # another branch: not a choice, as not on the board
    card = html.split(f'id="card-{named.pk}"')[1].split("</article>")[0]
    assert "board-card-customer" not in card and "Rep_A1" in card  # named after its customer
    card = html.split(f'id="card-{late.pk}"')[1].split("</article>")[0]
    assert "board-card-customer" in card and "was due" in card and "overdue" in card
    assert f'id="card-{other_branch.pk}"' not in html

    only_a2 = client.get(reverse("pipeline:board"), {"owner": org.rep_a2.pk}).content.decode()
    assert f'id="card-{late.pk}"' in only_a2 and f'id="card-{named.pk}"' not in only_a2
    assert f'<option value="{org.rep_a2.pk}" selected>' in only_a2
    # another branch's member: nothing, not their deals
    west = client.get(reverse("pipeline:board"), {"owner": org.rep_w1.pk}).content.decode()
    assert f'id="card-{other_branch.pk}"' not in west and 'id="card-' not in west
    listed = client.get(reverse("pipeline:list"), {"owner": org.rep_a2.pk}).content.decode()
    assert "Renewal" in listed and "Acme Steel-Cloud" not in listed
    assert 'data-testid="owner-filter"' in listed

    login(org.rep_a1)  # a rep sees only their own deals: no owner filter, no owner on cards
    html = client.get(reverse("pipeline:board")).content.decode()
    assert 'data-testid="owner-filter"' not in html and "board-card-owner" not in html


def test_list_amounts_in_yuan_and_passed_closes_flagged(org, client, login):
    today = timezone.localdate()
    f.opportunity(org.rep_a1, name="Whole", amount="1017300", expected_close=today)
    f.opportunity(
        org.rep_a1, name="Cents", amount="2500.5", expected_close=today - timedelta(days=1)
    )
    login(org.rep_a1)
    html = client.get(reverse("pipeline:list")).content.decode()
    whole = html.split(">Whole<")[1].split("</tr>")[0]
    cents = html.split(">Cents<")[1].split("</tr>")[0]
    assert "¥1,017,300<" in whole and "overdue" not in whole  # due today: not passed yet
    assert "¥2,500.50<" in cents and 'class="nowrap overdue"' in cents


def test_the_open_list_shows_a_deal_reopened_and_hides_it_while_closed(org, client, login):
    """The list of open deals reads "no closing day" (the partial index): a deal won drops out,
    moved back to an open stage it is listed again — its closing day is cleared."""
    deal = f.opportunity(org.rep_a1, name="Reopened", amount="1000")
    won = org.pipeline.stages.get(kind="won")
    first_open = org.pipeline.stages.filter(kind="open").order_by("order").first()
    login(org.rep_a1)

    def listed() -> bool:
        return ">Reopened<" in client.get(reverse("pipeline:list")).content.decode()

    assert listed()
    opportunity_move_stage(opportunity=deal, stage=won)
    deal.refresh_from_db()
    assert deal.closed_at is not None and not listed()
    opportunity_move_stage(opportunity=deal, stage=first_open)
    deal.refresh_from_db()
    assert deal.closed_at is None and listed()


def test_open_columns_soonest_close_first_and_counted(org):
    """An open column lists its deals by expected close, soonest first (ties by age), and its
    count and amount cover every deal in it, also the ones past the cards shown."""
    today = timezone.localdate()
    first = org.pipeline.stages.filter(kind="open").order_by("order").first()
    late = f.opportunity(org.rep_a1, amount="100", expected_close=today + timedelta(days=90))
    tie = f.opportunity(org.rep_a1, amount="200", expected_close=today + timedelta(days=90))
    soon = f.opportunity(org.rep_a1, amount="300", expected_close=today + timedelta(days=3))
    middle = f.opportunity(org.rep_a2, amount="400", expected_close=today + timedelta(days=20))
    f.opportunity(org.rep_w1, amount="5000", expected_close=today)  # not seen by Team A's manager
    columns = board_columns(user=org.mgr_a.user, pipeline=org.pipeline, per_column=3)
    column = next(c for c in columns if c["stage"].pk == first.pk)
    assert [c.pk for c in column["cards"]] == [soon.pk, middle.pk, late.pk]
    assert column["count"] == 4 and column["amount"] == Decimal("1000")
    everything = board_columns(user=org.mgr_a.user, pipeline=org.pipeline)
    column = next(c for c in everything if c["stage"].pk == first.pk)
    assert [c.pk for c in column["cards"]] == [soon.pk, middle.pk, late.pk, tie.pk]


def test_a_column_shows_20_cards_then_loads_the_next_ones_with_the_same_filters(org, client, login):
    """A column shows its first 20 cards and "Show 5 more" (the rest, at most 20); the click
    brings the next ones in board order, through the visibility rule and the board's filters,
    until none are left."""
    import re

    from salesloop.pipeline.selectors import BOARD_CARDS

    today = timezone.localdate()
    first = org.pipeline.stages.filter(kind="open").order_by("order").first()
    mine = [
        f.opportunity(org.rep_a2, name=f"A2 deal {i:02d}", expected_close=today + timedelta(days=i))
        for i in range(BOARD_CARDS + 5)
    ]
    f.opportunity(org.rep_a1, name="A1 deal", expected_close=today - timedelta(days=1))  # first
    f.opportunity(org.rep_w1, name="West deal", expected_close=today)  # not visible to Team A
    login(org.mgr_a)
    board = client.get(reverse("pipeline:board"), {"owner": org.rep_a2.pk}).content.decode()
    column = board.split(f'data-stage="{first.pk}"')[1].split("</section>")[0]
    shown = [int(pk) for pk in re.findall(r'id="card-(\d+)"', column)]
    assert shown == [o.pk for o in mine[:BOARD_CARDS]]
    assert "Show 5 more" in column and "Show all 25" in column
    more_url = re.search(
        r'hx-get="([^"]+)"', column.split("Show 5 more")[0].rsplit("<button", 1)[1]
    )
    url = more_url.group(1).replace("&amp;", "&")
    assert f"owner={org.rep_a2.pk}" in url and "offset=20" in url
    rest = client.get(url)
    assert rest.status_code == 200
    body = rest.content.decode()
    assert [int(pk) for pk in re.findall(r'id="card-(\d+)"', body)] == [o.pk for o in mine[20:]]
    assert "more</button>" not in body  # nothing left
    assert 'name="stage"' in body and f'value="{first.pk}" selected' in body  # still movable
    # without the owner filter the same offset starts from the unfiltered order; never another
    # branch's deal
    everything = client.get(reverse("pipeline:board_more", args=[first.pk]), {"offset": 0})
    names = re.findall(r'class="board-card-title" title="([^"]+)"', everything.content.decode())
    assert names[0] == "A1 deal" and "West deal" not in names and len(names) == BOARD_CARDS
    assert "Show 6 more" in everything.content.decode()  # 26 visible: 20 here, 6 after them
    # bad input: a clear refusal
    for offset in ("-3", "x", "²", "9" * 30):
        bad = client.get(reverse("pipeline:board_more", args=[first.pk]), {"offset": offset})
        assert bad.status_code == 400 and b"whole number" in bad.content
    assert client.get(reverse("pipeline:board_more", args=[999999])).status_code == 404


def test_a_move_from_the_board_keeps_the_loaded_cards_and_the_filters(org, client, login):
    """The board sends how many cards each column had loaded ("3:40,4:20") with a move; the
    re-rendered board shows that many (at least 20, at most BOARD_CARDS_MAX), under the filters
    in the move's address. Malformed pairs are skipped: the move has been made by then."""
    import re

    from salesloop.pipeline.selectors import BOARD_CARDS, BOARD_CARDS_MAX

    today = timezone.localdate()
    first, second = org.pipeline.stages.filter(kind="open").order_by("order")[:2]
    mine = [
        f.opportunity(org.rep_a2, name=f"A2 deal {i:02d}", expected_close=today + timedelta(days=i))
        for i in range(45)
    ]
    f.opportunity(org.rep_a1, name="A1 deal", expected_close=today - timedelta(days=1))
    login(org.mgr_a)
    url = reverse("pipeline:move", args=[mine[0].pk]) + f"?owner={org.rep_a2.pk}"

    def column_of(response, stage):
        html = response.content.decode()
        part = html.split(f'data-stage="{stage.pk}"')[1].split("</section>")[0]
        return [int(pk) for pk in re.findall(r'id="card-(\d+)"', part)]

    moved = client.post(
        url,
        {"stage": second.pk, "from": "board", "shown": f"{first.pk}:40,{second.pk}:x,junk,:"},
        headers={"HX-Request": "true"},
    )
    assert moved.status_code == 200
    # 40 loaded before the move; the moved deal left, so the next one fills its place
    assert column_of(moved, first) == [o.pk for o in mine[1:41]]
    assert column_of(moved, second) == [mine[0].pk]
    html = moved.content.decode()
    assert "A1 deal" not in html  # the owner filter held
    assert "Show 4 more" in html  # 44 left in the column, 40 shown
    assert f"offset=40&amp;owner={org.rep_a2.pk}" in html
    # each card's move carries the board's filters, so the next move keeps them too
    move_next = reverse("pipeline:move", args=[mine[1].pk])
    assert f'hx-post="{move_next}?owner={org.rep_a2.pk}"' in html
    # no pairs: the first 20 a column; a huge count is held to the maximum
    back = reverse("pipeline:move", args=[mine[0].pk]) + f"?owner={org.rep_a2.pk}"
    plain = client.post(back, {"stage": first.pk, "from": "board"}, headers={"HX-Request": "true"})
    assert len(column_of(plain, first)) == BOARD_CARDS
    huge = client.post(
        reverse("pipeline:move", args=[mine[1].pk]),
        {"stage": first.pk, "from": "board", "shown": f"{first.pk}:9999"},
        headers={"HX-Request": "true"},
    )
    assert len(column_of(huge, first)) == min(46, BOARD_CARDS_MAX)  # 45 mine + A1's
