"""The pages a rep lives in, clicked through in real Chromium."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from salesloop.activities.models import Activity
from salesloop.customers.models import Customer
from salesloop.pipeline.models import Opportunity, StageChange
from tests import factories as f
from tests.browser.conftest import log_in, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_login_failure_then_success_lands_on_my_day(page, org):
    page.goto(f"{page.base}/login/")
    page.fill("input[name=username]", "rep_a1")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    expect(page.locator(".message-error")).to_be_visible()
    shot(page, "login-failed")
    log_in(page, "rep_a1", f.PASSWORD)
    expect(page.locator("h1")).to_contain_text("Rep_A1")
    shot(page, "home-rep")


def test_rep_creates_a_customer_with_validation(page, org):
    log_in(page, "rep_a1", f.PASSWORD)
    page.click("text=Customers")
    page.click("text=New customer")
    page.fill("#id_potential", "-5")
    page.click("button:has-text('Save')")
    # name missing and negative potential: clear messages, nothing saved
    expect(page.locator(".field-errors").first).to_be_visible()
    assert Customer.objects.count() == 0
    page.fill("#id_name", "上海恒通机械有限公司")
    page.fill("#id_potential", "500000")
    page.select_option("#id_tier", "key")
    page.click("button:has-text('Save')")
    expect(page.locator("h1")).to_contain_text("上海恒通机械有限公司")
    customer = Customer.objects.get()
    assert customer.owner == org.rep_a1 and customer.tier == "key"
    shot(page, "customer-detail")


def test_rep_logs_an_activity_in_two_clicks(page, org):
    cust = f.customer(org.rep_a1, name="北京星河贸易")
    log_in(page, "rep_a1", f.PASSWORD)
    page.goto(f"{page.base}/customers/{cust.pk}/")
    page.click("[data-testid=log-activity]")  # click 1: open the form
    page.check("input[name=kind][value=visit]")
    page.fill("#id_subject", "上门拜访，演示新产品")
    due = (timezone.localdate() + timedelta(days=3)).isoformat()
    page.fill("#id_follow_up_due", due)
    page.click("#timeline button:has-text('Save')")  # click 2: save
    expect(page.locator(".timeline-item").first).to_contain_text("上门拜访")
    activity = Activity.objects.get()
    assert activity.kind == "visit" and activity.follow_up_due.isoformat() == due
    shot(page, "activity-logged")


def test_follow_up_due_before_activity_is_refused(page, org):
    cust = f.customer(org.rep_a1, name="广州蓝海")
    log_in(page, "rep_a1", f.PASSWORD)
    page.goto(f"{page.base}/customers/{cust.pk}/")
    page.click("[data-testid=log-activity]")
    page.check("input[name=kind][value=call]")
    page.fill("#id_subject", "电话回访")
    page.fill("#id_follow_up_due", (timezone.localdate() - timedelta(days=2)).isoformat())
    page.click("#timeline button:has-text('Save')")
    expect(page.locator("#timeline .field-errors")).to_contain_text("cannot be due before")
    assert Activity.objects.count() == 0


def test_drag_a_card_on_the_board_records_a_stage_change(page, org):
    opp = f.opportunity(org.rep_a1, name="ERP 升级项目", amount="250000")
    negotiation = org.pipeline.stages.get(order=4)
    log_in(page, "rep_a1", f.PASSWORD)
    page.click("text=Pipeline board")
    card = page.locator(f"#card-{opp.pk}")
    expect(card).to_be_visible()
    card.drag_to(page.locator(f".board-col[data-stage='{negotiation.pk}']"))
    expect(
        page.locator(f".board-col[data-stage='{negotiation.pk}'] #card-{opp.pk}")
    ).to_be_visible()
    # the server answers with the re-rendered board: the column now counts the deal
    expect(
        page.locator(f".board-col[data-stage='{negotiation.pk}'] header .small")
    ).to_contain_text("1 ·")
    opp.refresh_from_db()
    assert opp.stage == negotiation
    change = StageChange.objects.filter(opportunity=opp).order_by("-changed_at").first()
    assert change.to_stage == negotiation and change.changed_by == org.rep_a1
    # a deal lost now shows in the lost column ("last 30 days")
    lost = org.pipeline.stages.get(kind="lost")
    # on a freshly loaded board (htmx has wired it up by the load event), with the card's menu
    page.goto(f"{page.base}/opportunities/board/")
    page.locator(f"#card-{opp.pk} select").select_option(str(lost.pk))
    expect(page.locator(f".board-col[data-stage='{lost.pk}'] #card-{opp.pk}")).to_be_attached()
    expect(page.locator(f".board-col[data-stage='{lost.pk}'] header .small")).to_contain_text(
        "last 30 days: 1"
    )
    # the board scrolls inside its own box (the lost column is past the window's edge): the
    # page itself never gets wider than the window
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "board")


def test_a_board_column_loads_more_cards_that_move_like_the_others(page, org):
    """Cards loaded with "Show more" move like the first ones, and a move keeps them on the
    board, with the board's filters (the re-rendered board used to fold back to 20 cards a
    column and drop the search)."""
    today = timezone.localdate()
    first = org.pipeline.stages.filter(kind="open").order_by("order").first()
    deals = [
        f.opportunity(org.rep_a1, name=f"项目 {i:02d}", expected_close=today + timedelta(days=i))
        for i in range(23)
    ]
    other = f.opportunity(org.rep_a1, name="Other deal", expected_close=today - timedelta(days=1))
    log_in(page, "rep_a1", f.PASSWORD)
    page.goto(f"{page.base}/opportunities/board/")
    column = page.locator(f".board-col[data-stage='{first.pk}']")
    expect(column.locator(f"#card-{other.pk}")).to_be_attached()
    page.get_by_placeholder("Search deals or customers").fill("项目")
    expect(column.locator(f"#card-{other.pk}")).to_have_count(0)
    expect(column.locator(".board-card")).to_have_count(20)
    column.get_by_role("button", name="Show 3 more").scroll_into_view_if_needed()
    shot(page, "board-more-button")
    column.get_by_role("button", name="Show 3 more").click()
    expect(column.locator(".board-card")).to_have_count(23)
    expect(column.get_by_role("button", name="Show 3 more")).to_have_count(0)
    expect(column.locator(".board-card").last).to_have_id(f"card-{deals[-1].pk}")
    shot(page, "board-more")
    # a card loaded later moves like the first ones (its own menu, the board re-rendered)
    second = org.pipeline.stages.filter(kind="open").order_by("order")[1]
    page.locator(f"#card-{deals[-1].pk} select").select_option(str(second.pk))
    expect(
        page.locator(f".board-col[data-stage='{second.pk}'] #card-{deals[-1].pk}")
    ).to_be_attached()
    deals[-1].refresh_from_db()
    assert deals[-1].stage == second
    # the re-rendered board keeps the 22 loaded cards left in the column, and the search
    column = page.locator(f".board-col[data-stage='{first.pk}']")
    expect(column.locator(".board-card")).to_have_count(22)
    expect(column.locator(f"#card-{deals[21].pk}")).to_be_attached()
    expect(page.locator(f"#card-{other.pk}")).to_have_count(0)
    expect(page.get_by_placeholder("Search deals or customers")).to_have_value("项目")


def test_rep_cannot_open_another_reps_opportunity(page, org):
    other = f.opportunity(org.rep_a2, name="Secret deal")
    log_in(page, "rep_a1", f.PASSWORD)
    response = page.goto(f"{page.base}/opportunities/{other.pk}/")
    assert response.status == 404
    assert "Secret deal" not in page.content()


def test_language_switch_to_chinese(page, org):
    log_in(page, "rep_a1", f.PASSWORD)
    page.select_option("select[name=language]", "zh-hans")
    page.wait_for_load_state()
    expect(page.locator(".nav")).to_contain_text("客户")
    org.rep_a1.refresh_from_db()
    assert org.rep_a1.language == "zh-hans"
    shot(page, "home-zh")


def test_opportunity_detail_and_move_form(page, org):
    opp = f.opportunity(org.rep_a1, name="云服务续约", amount="88000")
    log_in(page, "rep_a1", f.PASSWORD)
    page.goto(f"{page.base}/opportunities/{opp.pk}/")
    lost = org.pipeline.stages.get(kind="lost")
    page.select_option("#id_stage", str(lost.pk))
    page.select_option("#id_lost_reason", "price")
    page.click("button:has-text('Move')")
    expect(page.locator(".message-success")).to_contain_text(re.compile("Moved to"))
    opp.refresh_from_db()
    assert opp.stage == lost and opp.lost_reason == "price" and opp.closed_at is not None
    assert Opportunity.objects.filter(stage__kind="lost").count() == 1
    shot(page, "opportunity-detail")


def test_a_phone_starts_on_the_page_not_on_the_menu(page, org):
    """At a phone's width the menu is a bar of links that scrolls sideways; the page's heading is
    on the first screen and no page is wider than the phone (wide tables scroll in their card)."""
    f.opportunity(org.rep_a1, name="Phone deal", amount="12345")
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, "rep_a1", f.PASSWORD)
    heading = page.locator("h1").bounding_box()
    assert heading is not None and heading["y"] < 250  # not below a screen-high menu
    nav = page.locator("nav.nav")
    assert nav.evaluate("n => n.scrollWidth > n.clientWidth")  # the links scroll sideways
    for path in ("/", "/opportunities/", "/opportunities/board/", "/customers/", "/targets/"):
        page.goto(f"{page.base}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
    page.click("nav >> text=Opportunities")
    expect(page.locator("h1")).to_have_text("Opportunities")
    shot(page, "phone-opportunities")
    page.goto(f"{page.base}/alerts/")  # the last link: scrolled into the bar's view
    box = page.locator("nav .nav-link.active").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390


def test_the_search_boxes_read_their_whole_hint(page, org):
    """On a laptop each list's search box is wide enough for what it says it searches ("Search
    deals or customers" was cut after "custo")."""
    log_in(page, "rep_a1", f.PASSWORD)
    for path in ("/opportunities/", "/opportunities/board/", "/customers/"):
        page.goto(f"{page.base}{path}")
        box = page.locator("input[type=search]").first
        hint = box.get_attribute("placeholder")
        fits = box.evaluate(
            """e => { const c = document.createElement('canvas').getContext('2d');
                      const s = getComputedStyle(e); c.font = s.font;
                      const room = e.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
                      return c.measureText(e.placeholder).width <= room; }"""
        )
        assert fits, (path, hint)
