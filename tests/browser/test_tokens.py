"""API tokens and the API docs page, in real Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from salesloop.apitokens.models import ApiToken
from tests import factories as f
from tests.browser.conftest import log_in, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_user_creates_a_token_shown_once_then_revokes_it(page, org):
    log_in(page, "rep_a1", f.PASSWORD)
    page.goto(f"{page.base}/settings/tokens/")
    page.fill("#id_name", "ERP 同步")
    page.select_option("#id_scope", "read_write")
    page.click("[data-testid=create-token]")
    secret = page.locator(".token-secret")
    expect(secret).to_be_visible()
    raw = secret.input_value()
    assert raw.startswith("sl_")
    shot(page, "tokens-created")
    token = ApiToken.objects.get()
    assert token.name == "ERP 同步" and raw.startswith(token.prefix)
    page.goto(f"{page.base}/settings/tokens/")  # shown once: not there any more
    expect(page.locator(".token-secret")).to_have_count(0)
    assert raw not in page.content()
    page.click(f"[data-testid=revoke-{token.pk}]")
    expect(page.locator(f"#token-{token.pk}")).to_contain_text("revoked")
    token.refresh_from_db()
    assert token.revoked_at is not None
    shot(page, "tokens-revoked")


def test_api_docs_render_offline(page, org):
    log_in(page, "rep_a1", f.PASSWORD)
    page.goto(f"{page.base}/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("salesloop API")
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    shot(page, "api-docs")
