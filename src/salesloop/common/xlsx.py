"""How an exported sheet prints: the few page settings a director expects from a workbook made
for a meeting (openpyxl leaves Excel's defaults: portrait Letter, no repeated headings, a wide
sheet cut into column strips page after page)."""

from __future__ import annotations

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

#: The widest sheet (in character widths, as ``column_dimensions`` counts them) that is shrunk to
#: one page wide: A4 landscape with these margins holds about 150 at full size, so 260 prints at
#: about 58 % (11 pt text at about 6.5 pt). A wider one prints at full size, its columns over
#: several pages with the names repeated on each.
FIT_WIDTH = 260
#: Excel's default column width, for the columns a sheet leaves at it.
DEFAULT_WIDTH = 8.43


def sheet_width(ws: Worksheet, columns: int) -> float:
    """The printed width of the first ``columns`` columns, in character widths."""
    total = 0.0
    for col in range(1, columns + 1):
        width = ws.column_dimensions[get_column_letter(col)].width
        total += width if width else DEFAULT_WIDTH
    return total


def print_setup(ws: Worksheet, *, header_row: int, columns: int, title_columns: int = 1) -> None:
    """Print ``ws`` on A4 landscape with narrow margins, its heading row (``header_row``) and
    its first ``title_columns`` columns (the names) repeated on every page, page numbers and
    the sheet's name in the footer; shrunk to one page wide when its ``columns`` fit at a
    readable size (``FIT_WIDTH``), else at full size, each band of rows across its pages before
    the next (a person's whole row reads on consecutive pages)."""
    setup = ws.page_setup
    setup.orientation = ws.ORIENTATION_LANDSCAPE
    setup.paperSize = ws.PAPERSIZE_A4
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.6, header=0.3, footer=0.3)
    ws.print_title_rows = f"{header_row}:{header_row}"
    if title_columns:
        ws.print_title_cols = f"A:{get_column_letter(title_columns)}"
    if sheet_width(ws, columns) <= FIT_WIDTH:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        setup.fitToWidth = 1
        setup.fitToHeight = 0  # as many pages down as the rows need
    else:
        setup.pageOrder = "overThenDown"
    ws.oddFooter.left.text = "&A"
    ws.oddFooter.right.text = "&P / &N"
