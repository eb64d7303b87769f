from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook

from salesloop.dataio.engine import run_import


def write_csv(path: Path, rows: list[list[object]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


@pytest.fixture
def do_import(tmp_path):
    """Import ``rows`` (header first) as ``kind`` for ``member``; returns the ImportResult."""

    def _run(kind, rows, member, *, fmt="csv", encoding="utf-8", **options):
        path = tmp_path / f"{kind}.{fmt}"
        if fmt == "xlsx":
            write_xlsx(path, rows)
        else:
            write_csv(path, rows, encoding=encoding)
        options.setdefault("rejects_path", tmp_path / "rejected.csv")
        return run_import(path=path, kind=kind, user=member.user, **options)

    return _run
