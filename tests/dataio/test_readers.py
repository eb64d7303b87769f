"""Real files and malformed ones: each gets a clear message and nothing is written."""

import shutil
import subprocess
import zipfile

import pytest
from openpyxl import Workbook

from salesloop.customers.models import Customer
from salesloop.dataio.readers import FileRejected, open_table
from tests.dataio.conftest import write_csv, write_xlsx

ROWS = [
    ["客户编号", "客户名称", "负责人", "行业", "电话"],
    ["C1", "上海华东机电有限公司", "rep_a1", "制造业", "021-5555"],
    ["C2", "杭州云栖软件", "rep_a1", "IT", "0571-888"],
]


def _read(path):
    table = open_table(path)
    try:
        return table.headers, [v for _n, v in table.rows()]
    finally:
        table.close()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_chinese_excel_writes(tmp_path, encoding):
    headers, rows = _read(write_csv(tmp_path / "c.csv", ROWS, encoding=encoding))
    assert headers == ROWS[0]
    assert rows[0][1] == "上海华东机电有限公司"


def test_semicolon_and_tab_delimiters(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("客户名称;负责人\n甲公司;rep_a1\n", encoding="utf-8")
    assert _read(path) == (["客户名称", "负责人"], [["甲公司", "rep_a1"]])
    path.write_text("客户名称\t负责人\n甲公司\trep_a1\n", encoding="utf-8")
    assert _read(path)[1] == [["甲公司", "rep_a1"]]


def test_xlsx_by_openpyxl_with_dates_and_numbers(tmp_path):
    from datetime import date

    wb = Workbook()
    ws = wb.active
    ws.append(["合同编号", "签约日期", "金额"])
    ws.append(["HT1", date(2025, 3, 7), 1234.5])
    wb.save(tmp_path / "o.xlsx")
    headers, rows = _read(tmp_path / "o.xlsx")
    assert rows == [["HT1", date(2025, 3, 7), 1234.5]]


@pytest.mark.skipif(
    not shutil.which("soffice"),
    reason="LibreOffice is not installed (apt-get install libreoffice-calc-nogui)",
)
def test_xlsx_written_by_libreoffice(tmp_path, org, do_import):
    source = write_csv(tmp_path / "customers.csv", ROWS, encoding="utf-8")
    subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--infilter=CSV:44,34,76,1",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(tmp_path / "out"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    path = tmp_path / "out" / "customers.xlsx"
    headers, rows = _read(path)
    assert headers == ROWS[0] and rows[1][1] == "杭州云栖软件"
    from salesloop.dataio.engine import run_import

    result = run_import(path=path, kind="customers", user=org.mgr_a.user)
    assert (result.error, result.created) == ("", 2)


def _rejected(path, match):
    with pytest.raises(FileRejected, match=match):
        open_table(path)


def test_not_a_spreadsheet_and_empty(tmp_path):
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.7 ...")
    _rejected(tmp_path / "a.pdf", "not a spreadsheet")
    (tmp_path / "e.csv").write_bytes(b"")
    _rejected(tmp_path / "e.csv", "empty")
    (tmp_path / "blank.csv").write_text("\n,,\n")
    _rejected(tmp_path / "blank.csv", "empty")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    _rejected(tmp_path / "old.xls", r"\.xls")
    (tmp_path / "fake.xlsx").write_text("hello")
    _rejected(tmp_path / "fake.xlsx", "not a valid .xlsx")
    (tmp_path / "bin.csv").write_bytes(b"a,b\n\x00\x01\x02")
    _rejected(tmp_path / "bin.csv", "not a text file")


def test_wrong_encoding(tmp_path):
    (tmp_path / "x.csv").write_bytes("名称\n".encode() + b"\xff\xfe\xfa\xfb\x80\x81\n" * 3)
    with pytest.raises(FileRejected, match="encoding"):
        _read(tmp_path / "x.csv")


def test_duplicate_headers(tmp_path):
    _rejected(
        write_csv(tmp_path / "d.csv", [["客户名称", "电话", "客户名称"], ["a", "b", "c"]]),
        "appears twice",
    )


def test_formulas_refused_with_the_cell(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["合同编号", "金额"])
    ws.append(["HT1", 100])
    ws.append(["HT2", "=B2*2"])
    wb.save(tmp_path / "f.xlsx")
    _rejected(tmp_path / "f.xlsx", "B3")


def test_merged_cells_refused(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["客户名称", "负责人"])
    ws.append(["甲", "rep_a1"])
    ws.append(["乙", None])
    ws.merge_cells("B2:B3")
    wb.save(tmp_path / "m.xlsx")
    _rejected(tmp_path / "m.xlsx", "B2:B3")


def test_zip_bomb_refused_before_decompressing(tmp_path):
    path = write_xlsx(tmp_path / "ok.xlsx", ROWS)
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr("xl/media/padding.bin", b"\0" * (50 * 1024 * 1024))
    _rejected(bomb, "zip bomb")


def test_xml_entities_refused(tmp_path):
    path = write_xlsx(tmp_path / "ok.xlsx", ROWS)
    evil = tmp_path / "evil.xlsx"
    laughs = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(evil, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = laughs + (data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else data)
            dst.writestr(item, data)
    _rejected(evil, "document type")


def test_malformed_file_leaves_the_database_as_it_was(tmp_path, org, do_import):
    before = Customer.objects.count()
    result = do_import("customers", [["客户名称", "客户名称"], ["a", "b"]], org.mgr_a)
    assert "appears twice" in result.error and not result.committed
    assert Customer.objects.count() == before
