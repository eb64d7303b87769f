"""The pages not walked through elsewhere, in real Chromium: follow-ups, export, notification
preferences, and a deal opened and edited from a customer's page."""

from __future__ import annotations

import copy
import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from salesloop.activities.models import Activity
from salesloop.alerts.models import NotificationPreference
from salesloop.orders.services import order_create
from salesloop.pipeline.models import Opportunity
from tests import factories as f
from tests.browser.conftest import log_in, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_manager_settles_a_follow_up_of_the_team(page, org):
    """A manager opens on the team's follow-ups (each naming its rep), settles an overdue one in
    place: the row goes, the count goes down, the list left empty says so; "Mine" shows only
    their own."""
    today = timezone.localdate()
    week_ago = timezone.now() - timedelta(days=7)
    late = f.activity(
        org.rep_a1, f.customer(org.rep_a1, name="东莞迅达"), at=week_ago, due=today - timedelta(3)
    )
    f.activity(org.rep_a2, f.customer(org.rep_a2, name="佛山华美"), due=today + timedelta(2))
    f.activity(
        org.rep_w1, f.customer(org.rep_w1, name="West Co"), at=week_ago, due=today - timedelta(1)
    )
    log_in(page, "mgr_a", f.PASSWORD)
    page.click("nav >> text=Follow-ups")
    overdue = page.locator(".card", has=page.locator("h2", has_text="Overdue"))
    expect(overdue.locator("[data-count]")).to_have_text("1")  # not Team W's
    row = page.locator(f"#followup-{late.pk}")
    expect(row).to_contain_text("东莞迅达")
    expect(row).to_contain_text("Rep_A1")
    expect(page.locator(".card", has_text="Next 7 days")).to_contain_text("佛山华美")
    expect(page.locator("body")).not_to_contain_text("West Co")
    shot(page, "followups-team")
    row.locator("button:has-text('Done')").click()
    expect(row).to_have_count(0)
    expect(overdue.locator("[data-count]")).to_have_text("0")
    expect(overdue.locator(".empty")).to_have_text("Nothing overdue.")
    late.refresh_from_db()
    assert late.followed_up_at is not None
    assert Activity.objects.filter(followed_up_at__isnull=True).count() == 2
    page.click("text=Mine")
    expect(page.locator(".list-row")).to_have_count(0)  # the manager promised nothing


def test_a_rep_exports_a_month_of_contracts_and_a_wrong_period_exports_nothing(page, org):
    cust = f.customer(org.rep_a1, name="Own Co")
    other = f.customer(org.rep_a2, name="Peer Co")
    for number, who, where, day in (
        ("C-FEB", org.rep_a1, cust, date(2026, 2, 27)),
        ("C-MAR", org.rep_a1, cust, date(2026, 3, 9)),
        ("C-PEER", org.rep_a2, other, date(2026, 3, 10)),
    ):
        order_create(number=number, customer=where, owner=who, signed_on=day, amount=Decimal("800"))
    log_in(page, "rep_a1", f.PASSWORD)
    page.click("a[data-nav=dataio]")
    page.click("a.btn:has-text('Export')")
    form = page.get_by_test_id("export")
    form.locator("input[name=from]").fill("2026-03-01")
    form.locator("input[name=to]").fill("2026-03-31")
    row = form.locator("tr", has_text="Orders")
    expect(row).to_contain_text("Period by the date signed")
    shot(page, "export")
    with page.expect_download() as download:
        row.locator("button:has-text('CSV')").click()
    text = open(download.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115 - read once
    numbers = [line[0] for line in csv.reader(io.StringIO(text))][1:]
    assert numbers == ["C-MAR"]  # March only, and not a peer's
    form.locator("input[name=from]").fill("2026-04-01")
    row.locator("button:has-text('Excel')").click()
    expect(page.get_by_test_id("export-error")).to_contain_text(
        "The period ends (2026-03-31) before it starts (2026-04-01). Nothing was exported."
    )
    # the period stays in the form for the next try
    expect(page.locator("input[name=to]")).to_have_value("2026-03-31")


def test_a_list_exports_what_its_filters_show_as_they_are_set(page, org):
    """The filters change the table in place; the export link kept the filters of the page's
    first load and exported every deal (5,003 of them for a list showing 65)."""
    from openpyxl import load_workbook

    cust = f.customer(org.rep_a1, name="Own Co")
    f.opportunity(org.rep_a1, cust, name="Open one", amount="1000")
    gone = f.opportunity(org.rep_a1, cust, name="Lost one", amount="2000")
    lost = org.pipeline.stages.get(kind="lost")
    from salesloop.pipeline.services import opportunity_move_stage

    opportunity_move_stage(opportunity=gone, stage=lost, actor=org.rep_a1.user)
    log_in(page, "rep_a1", f.PASSWORD)
    page.goto(f"{page.base}/opportunities/")
    expect(page.locator("#opportunity-table tbody tr")).to_contain_text("Open one")
    page.select_option("form.filters select[name=status]", "lost")
    expect(page.locator("#opportunity-table tbody tr")).to_contain_text("Lost one")
    with page.expect_download() as download:
        page.get_by_test_id("export-list").click()
    sheet = load_workbook(io.BytesIO(open(download.value.path(), "rb").read())).active  # noqa: SIM115
    names = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True) if row[1]]
    assert names == ["Lost one"]


def test_notification_preferences_say_what_they_do_and_keep_bad_hours_out(page, org):
    org.rep_a1.user.email = "a1@huaxin.example.cn"
    org.rep_a1.user.save()
    log_in(page, "rep_a1", f.PASSWORD)
    page.click("nav >> text=Notifications")
    page.click("text=Preferences")
    form = page.get_by_test_id("preferences")
    expect(form).to_contain_text("Alerts, digests and reports go to a1@huaxin.example.cn.")
    # a checkbox reads beside its box
    box = page.get_by_label("One daily digest instead of each alert").bounding_box()
    label = form.locator("label", has_text="One daily digest").locator("span").bounding_box()
    assert (
        box and label and abs(box["y"] + box["height"] / 2 - label["y"] - label["height"] / 2) < 6
    )
    assert label["x"] > box["x"] + box["width"]
    page.get_by_label("One daily digest instead of each alert").check()
    page.get_by_label("From").fill("22:00")
    page.get_by_label("Until").fill("07:30")
    shot(page, "preferences")
    page.click("button:has-text('Save')")
    expect(page.locator(".message-success")).to_contain_text("preferences were saved")
    pref = NotificationPreference.objects.get(member=org.rep_a1)
    assert pref.digest and pref.email and pref.reports
    assert (pref.quiet_start.hour, pref.quiet_end.hour, pref.quiet_end.minute) == (22, 7, 30)
    page.get_by_label("Until").fill("22:00")
    page.click("button:has-text('Save')")
    expect(page.locator(".message-error")).to_contain_text("start and end at 22:00")
    pref.refresh_from_db()
    assert (pref.quiet_end.hour, pref.quiet_end.minute) == (7, 30)


def test_a_manager_opens_a_deal_for_a_reps_customer_and_edits_it(page, org):
    """From a rep's customer the new deal belongs to that rep unless the manager picks someone
    else; a negative amount is refused with nothing saved; an edit saves."""
    cust = f.customer(org.rep_a2, name="宁波恒远")
    log_in(page, "mgr_a", f.PASSWORD)
    page.goto(f"{page.base}/opportunities/new/?customer={cust.pk}")
    expect(page.locator("#id_customer")).to_have_value(f"宁波恒远 · #{cust.pk}")
    expect(page.locator("#id_owner option:checked")).to_have_text("Rep_A2")
    page.fill("#id_name", "宁波恒远 二期")
    page.fill("#id_amount", "-1")
    page.fill("#id_expected_close", (timezone.localdate() + timedelta(days=40)).isoformat())
    page.click("button:has-text('Save')")
    expect(page.locator(".field-errors")).to_contain_text("cannot be negative")
    assert not Opportunity.objects.exists()
    page.fill("#id_amount", "360000")
    page.click("button:has-text('Save')")
    expect(page.locator("h1")).to_contain_text("宁波恒远 二期")
    deal = Opportunity.objects.get()
    assert deal.owner == org.rep_a2 and deal.amount == Decimal("360000")
    page.goto(f"{page.base}/opportunities/{deal.pk}/edit/")
    page.fill("#id_amount", "420000")
    page.click("button:has-text('Save')")
    expect(page.locator(".message-success")).to_contain_text("Changes saved")
    deal.refresh_from_db()
    assert deal.amount == Decimal("420000")
    shot(page, "opportunity-edited")
    # a new deal with no customer chosen is the manager's own to begin with
    page.goto(f"{page.base}/opportunities/new/")
    expect(page.locator("#id_owner option:checked")).to_have_text("Mgr_A")


def test_a_form_only_address_visited_shows_a_page_to_go_on_from(page, org):
    """Chromium showed "This page isn't working · HTTP ERROR 405" for the empty answer."""
    log_in(page, "rep_a1", f.PASSWORD)
    response = page.goto(f"{page.base}/activities/log/")
    assert response is not None and response.status == 405
    card = page.get_by_test_id("error-page")
    expect(card).to_contain_text("Nothing to show at this address")
    expect(card).to_contain_text("nothing was changed")
    shot(page, "error-405")
    card.get_by_role("link", name="Back to my day").click()
    expect(page.locator("h1")).to_contain_text("Rep_A1")


def test_a_manager_edits_a_reps_customer(page, org):
    """The edit page leads back to the customer by name; a negative potential is refused with
    nothing changed; the owner can be handed to another rep of the team."""
    cust = f.customer(org.rep_a1, name="杭州远景", potential=Decimal("100000"))
    log_in(page, "mgr_a", f.PASSWORD)
    page.goto(f"{page.base}/customers/{cust.pk}/")
    page.click("a.btn:has-text('Edit')")
    expect(page.locator(".crumbs")).to_contain_text("Customers › 杭州远景 ›")
    page.fill("#id_potential", "-1")
    page.click("button:has-text('Save')")
    expect(page.locator(".field-errors")).to_be_visible()
    cust.refresh_from_db()
    assert cust.potential == Decimal("100000")
    page.fill("#id_potential", "880000")
    page.select_option("#id_owner", label="Rep_A2")
    page.select_option("#id_tier", "key")
    page.click("button:has-text('Save')")
    expect(page.locator(".message-success")).to_contain_text("Changes saved")
    expect(page.locator("h1")).to_contain_text("杭州远景")
    cust.refresh_from_db()
    assert (cust.potential, cust.owner, cust.tier) == (Decimal("880000"), org.rep_a2, "key")
    page.click(".crumbs a:has-text('Customers')")
    expect(page.locator("h1")).to_have_text("Customers")


def test_a_follow_up_settled_on_my_day_counts_down_there_too(page, org):
    today = timezone.localdate()
    week_ago = timezone.now() - timedelta(days=7)
    cust = f.customer(org.rep_a1, name="温州恒信")
    late = f.activity(org.rep_a1, cust, at=week_ago, due=today - timedelta(2))
    f.activity(org.rep_a1, cust, at=week_ago, due=today - timedelta(1), subject="Second call")
    f.activity(org.rep_a1, cust, at=week_ago, due=today, subject="Today's call")
    log_in(page, "rep_a1", f.PASSWORD)
    expect(page.get_by_test_id("overdue-count")).to_have_text("2")
    expect(page.locator('[data-count="today"]')).to_have_text("1")
    page.locator(f"#followup-{late.pk} button:has-text('Done')").click()
    expect(page.locator(f"#followup-{late.pk}")).to_have_count(0)
    expect(page.get_by_test_id("overdue-count")).to_have_text("1")
    expect(page.locator('[data-count="today"]')).to_have_text("1")  # another kind: as it was
    late.refresh_from_db()
    assert late.followed_up_at is not None


def test_a_managers_own_follow_up_settled_on_my_day_counts_down_the_teams_too(page, org):
    """The team's count (everyone the manager sees, the manager included) goes down with the
    manager's own, thousands separator kept."""
    today = timezone.localdate()
    week_ago = timezone.now() - timedelta(days=7)
    own = f.activity(
        org.mgr_a, f.customer(org.mgr_a, name="宁波海达"), at=week_ago, due=today - timedelta(1)
    )
    rep_cust = f.customer(org.rep_a1, name="温州恒信")
    first = f.activity(org.rep_a1, rep_cust, at=week_ago, due=today - timedelta(3))
    copies = []
    for i in range(1000):
        first.pk = None
        first.subject = f"Call {i}"
        copies.append(copy.copy(first))
    Activity.objects.bulk_create(copies)
    log_in(page, "mgr_a", f.PASSWORD)
    expect(page.get_by_test_id("overdue-count")).to_have_text("1")
    expect(page.get_by_test_id("team-overdue-count")).to_have_text("1,002")
    page.locator(f"#followup-{own.pk} button:has-text('Done')").click()
    expect(page.locator(f"#followup-{own.pk}")).to_have_count(0)
    expect(page.get_by_test_id("overdue-count")).to_have_text("0")
    expect(page.get_by_test_id("team-overdue-count")).to_have_text("1,001")
    page.reload()
    expect(page.get_by_test_id("team-overdue-count")).to_have_text("1,001")


def test_the_customer_list_totals_follow_its_filters(page, org):
    today = timezone.localdate()
    for i, (name, tier, amount) in enumerate(
        [("杭州远景", "key", "120000"), ("宁波海达", "key", None), ("温州恒信", "b", "30000")]
    ):
        cust = f.customer(org.rep_a1, name=name, tier=tier)
        if amount:
            order_create(
                number=f"C{i}",
                customer=cust,
                owner=org.rep_a1,
                signed_on=today - timedelta(days=30),
                amount=Decimal(amount),
            )
    log_in(page, "rep_a1", f.PASSWORD)
    page.goto(f"{page.base}/customers/")
    totals = page.get_by_test_id("totals")
    expect(totals).to_contain_text(
        "The 3 customers these filters list: 2 bought in the last 12 months"
    )
    expect(totals.locator("strong")).to_have_text("¥150,000")
    shot(page, "customer-list-totals")
    page.select_option("select[name=tier]", "key")
    expect(totals).to_contain_text("The 2 customers these filters list: 1 bought")
    expect(totals.locator("strong")).to_have_text("¥120,000")
    page.fill("input[name=q]", "no such name")
    expect(page.locator("#customer-table .empty")).to_be_visible()
    expect(totals).to_have_count(0)
    expect(page.get_by_test_id("totals-loading")).to_have_count(0)
