"""The import wizard in real Chromium: a Chinese-header workbook, the dry run, the import, the rejected rows."""

from __future__ import annotations

import pytest
from openpyxl import Workbook

from salesloop.customers.models import Customer
from tests.browser.conftest import log_in, shot
from tests.factories import PASSWORD, build_org


@pytest.fixture
def workbook(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "客户清单"
    ws.append(["客户编号", "客户名称", "负责人", "客户等级", "所属行业", "年潜力", "联系电话"])
    ws.append(
        [
            "KH-0001",
            "上海华东机电有限公司",
            "rep_a1",
            "重点客户",
            "制造业",
            "120万",
            "021-5888 6600",
        ]
    )
    ws.append(["KH-0002", "杭州云栖软件科技", "rep_a2", "A类", "IT", "￥350,000", "0571-8888 1234"])
    ws.append(["KH-0003", "成都西部物流", "rep_w1", "钻石", "物流", "80万", ""])
    ws.append(["KH-0004", "苏州精工模具", "", "C", "制造", "1.5亿元?", ""])
    path = tmp_path / "客户导入.xlsx"
    wb.save(path)
    return path


def test_import_wizard(page, transactional_db, settings, tmp_path, workbook):
    settings.SALESLOOP_IMPORT_DIR = str(tmp_path / "imports")
    build_org()
    log_in(page, "mgr_a", PASSWORD)
    page.click("a[data-nav=dataio]")
    page.select_option("select[name=kind]", "customers")
    page.set_input_files("input[type=file]", str(workbook))
    shot(page, "import-1-upload")
    page.click("button[type=submit] >> text=Upload")
    page.wait_for_selector("text=Match the columns")
    assert page.input_value("select[name=col_1]") == "name"
    assert page.input_value("select[name=col_4]") == "industry"
    shot(page, "import-2-mapping")
    page.click("text=Check the file (dry run)")
    page.wait_for_selector("text=Rejected rows")
    # a row is refused for all it gets wrong at once: its owner and its tier
    reason = page.locator("td.reason", has_text="rep_w1").inner_text()
    assert "outside your team" in reason
    assert "Tier: 钻石 is not one of: Key account, Tier A, Tier B, Tier C." in reason
    shot(page, "import-3-dry-run")
    assert Customer.objects.count() == 0
    with page.expect_download() as download:
        page.click("text=Download rejected rows (Excel)")
    assert download.value.suggested_filename.endswith(".xlsx")
    page.click("text=Change the mapping or options")
    page.check("input[name=valid_rows_only]")
    page.click("text=Check the file (dry run)")
    page.click("button >> text=Import 2 valid rows")
    page.wait_for_selector("text=Imported on")
    shot(page, "import-4-done")
    assert Customer.objects.count() == 2
    assert set(Customer.objects.values_list("external_id", flat=True)) == {"KH-0001", "KH-0002"}
