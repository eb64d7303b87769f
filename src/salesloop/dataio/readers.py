"""Opening uploaded spreadsheets safely and streaming their rows.

- CSV in UTF-8 (with or without BOM), UTF-16 with BOM, or GBK / GB18030 (what Chinese Excel writes);
  the delimiter (comma, semicolon, tab) is sniffed.
- XLSX: the zip is checked before anything is decompressed (declared sizes and compression ratio),
  every XML part is parsed with defusedxml (no DTD, no entities), the sheet is scanned for formulas
  and merged cells (both refused with the cell address), then streamed row by row so memory stays
  bounded whatever the number of rows.

Anything else — a legacy .xls, an .ods, a PDF, an empty file, duplicate headers — raises
:class:`FileRejected` with a message for the user, before a single row is read.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
import zipfile
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from django.utils.translation import gettext as _

from salesloop.dataio.formats import EXCEL_EPOCH, clean_text

# Limits (the web wizard also caps the upload itself; see services.max_upload_bytes()).
MAX_UNCOMPRESSED_BYTES = 2 * 1024**3  # all parts of an XLSX together, once decompressed
MAX_COMPRESSION_RATIO = 200  # real sheets compress 5–30×; zip bombs 1000× and more
MAX_COLUMNS = 200
SAMPLE_BYTES = 256 * 1024
CHUNK = 1024 * 1024


class FileRejected(Exception):
    """The file as a whole cannot be imported; nothing has been written."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Table:
    """The header and a row iterator of one sheet. ``rows()`` yields (row number, values)."""

    headers: list[str]
    header_row: int
    kind: str  # "csv" or "xlsx"
    encoding: str = ""
    estimated_rows: int | None = None
    _rows: Iterator[tuple[int, list[Any]]] | None = field(default=None, repr=False)
    _closers: list[Any] = field(default_factory=list, repr=False)

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        assert self._rows is not None
        width = len(self.headers)
        for number, values in self._rows:
            if len(values) < width:
                values = values + [None] * (width - len(values))
            first = values[0]  # (a first cell with a value settles it: the row is not blank)
            if (first is None or (isinstance(first, str) and not first.strip())) and all(
                v is None or (isinstance(v, str) and not v.strip()) for v in values
            ):
                continue  # blank lines are skipped silently
            yield number, values

    def close(self) -> None:
        for closer in self._closers:
            with contextlib.suppress(Exception):  # closing is best effort
                closer.close()


def open_table(path: str | Path, *, filename: str = "") -> Table:
    """Open ``path`` (an upload saved to disk) as a table, or raise :class:`FileRejected`."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise FileRejected(_("The file is empty."))
    with path.open("rb") as handle:
        head = handle.read(8)
    name = (filename or path.name).lower()
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(path)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRejected(
            _(
                "This is an old Excel file (.xls) or a password-protected workbook. Open it in Excel "
                "or WPS and save it as .xlsx (Excel workbook) or CSV, without a password."
            )
        )
    if head.startswith(
        (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"Rar!", b"7z")
    ):
        raise FileRejected(_("This is not a spreadsheet. Upload an .xlsx workbook or a CSV file."))
    if name.endswith((".xls", ".xlsx", ".xlsm", ".ods", ".numbers")):
        raise FileRejected(
            _(
                "The file is named like a workbook but is not a valid .xlsx file. Save it again "
                "from Excel or WPS as .xlsx, or as CSV."
            )
        )
    return _open_csv(path, size)


def _header(values: list[Any], row: int) -> list[str]:
    headers = [clean_text(v) for v in values]
    while headers and not headers[-1]:
        headers.pop()
    if len(headers) > MAX_COLUMNS:
        raise FileRejected(_("The file has more than %(n)s columns.") % {"n": MAX_COLUMNS})
    seen: dict[str, int] = {}
    for index, header in enumerate(headers):
        if not header:
            continue
        key = header.casefold()
        if key in seen:
            raise FileRejected(
                _(
                    'The column "%(name)s" appears twice (columns %(first)s and %(second)s). Rename '
                    "or remove one of them."
                )
                % {
                    "name": header,
                    "first": column_letter(seen[key]),
                    "second": column_letter(index),
                }
            )
        seen[key] = index
    if not seen:
        raise FileRejected(
            _("The first row of the file should hold the column names; it is empty.")
        )
    return headers


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# ------------------------------------------------------------------------------------ CSV


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        raise FileRejected(_("This is not a text file. Upload an .xlsx workbook or a CSV file."))
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            decoder.decode(sample, final=False)  # a character cut at the end of the sample is fine
        except UnicodeDecodeError:
            continue
        return encoding
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is not None and best.encoding in {"big5", "big5hkscs", "cp950"}:
        return best.encoding
    raise FileRejected(
        _(
            "The file's text encoding was not recognised. Save it as “CSV UTF-8” (or as .xlsx) and "
            "upload it again."
        )
    )


def _open_csv(path: Path, size: int) -> Table:
    raw = path.open("rb")
    sample = raw.read(SAMPLE_BYTES)
    raw.seek(0)
    encoding = detect_encoding(sample)
    text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
    try:
        decoded = sample.decode(encoding, errors="ignore")
        try:
            dialect: Any = csv.Sniffer().sniff(decoded[:20000].lstrip("\ufeff"), delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        reader = csv.reader(text, delimiter=dialect.delimiter, quotechar='"', doublequote=True)
        lines = _csv_rows(reader)
        header_row, header_values = _first_non_empty(lines)
    except FileRejected:
        text.close()
        raise
    headers = _header(header_values, header_row)
    lines_in_sample = max(decoded.count("\n"), 1)
    estimate = (
        int(size / (len(sample) / lines_in_sample)) if len(sample) < size else lines_in_sample
    )
    return Table(
        headers=headers,
        header_row=header_row,
        kind="csv",
        encoding=encoding,
        estimated_rows=max(estimate - header_row, 1),
        _rows=lines,
        _closers=[text],
    )


def _csv_rows(reader: Any) -> Iterator[tuple[int, list[Any]]]:
    try:
        for values in reader:
            yield reader.line_num, values
    except UnicodeDecodeError as exc:
        raise FileRejected(
            _(
                "The file mixes text encodings (near line %(line)s). Save it as “CSV UTF-8” and "
                "upload it again."
            )
            % {"line": reader.line_num + 1}
        ) from exc
    except csv.Error as exc:
        raise FileRejected(
            _("Line %(line)s of the file cannot be read as CSV (%(error)s).")
            % {"line": reader.line_num, "error": exc}
        ) from exc


def _first_non_empty(rows: Iterator[tuple[int, list[Any]]]) -> tuple[int, list[Any]]:
    for number, values in rows:
        if any(clean_text(v) for v in values):
            return number, values
    raise FileRejected(_("The file is empty."))


# ----------------------------------------------------------------------------------- XLSX

NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+\d+(?::[A-Z]+\d+)?)"')
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")
# Built-in number formats that are dates or times (ECMA-376 18.8.30).
_DATE_FORMAT_IDS = {*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)}
_DATE_CODE = re.compile(r"(?<![\\\"])[ymdhs年月日]", re.IGNORECASE)


def _open_xlsx(path: Path) -> Table:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileRejected(_("The workbook is damaged (not a valid .xlsx file).")) from exc
    try:
        return _read_xlsx(archive)
    except FileRejected:
        archive.close()
        raise
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as exc:
        archive.close()
        raise FileRejected(_("The workbook is damaged (not a valid .xlsx file).")) from exc
    except (DefusedXmlException, SafeET.ParseError) as exc:
        archive.close()
        raise FileRejected(
            _(
                "The workbook contains XML that is not accepted (document type declarations or "
                "entities). Save it again from Excel or WPS."
            )
        ) from exc


def check_zip(archive: zipfile.ZipFile) -> None:
    """Refuse zip bombs from the declared sizes, before decompressing anything."""
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if info.file_size > 1024 * 1024 and info.file_size > MAX_COMPRESSION_RATIO * max(
            info.compress_size, 1
        ):
            raise FileRejected(
                _(
                    "The workbook is compressed suspiciously well (%(name)s expands %(ratio)s×). "
                    "It was refused as a possible zip bomb."
                )
                % {"name": info.filename, "ratio": info.file_size // max(info.compress_size, 1)}
            )
    if total > MAX_UNCOMPRESSED_BYTES:
        raise FileRejected(_("The workbook is too big once decompressed."))


def _read_part(archive: zipfile.ZipFile, name: str) -> bytes:
    info = archive.getinfo(name)
    with archive.open(info) as handle:
        data = handle.read(info.file_size + 1)
    if len(data) > info.file_size:  # the zip lied about the size
        raise FileRejected(_("The workbook is damaged (not a valid .xlsx file)."))
    return data


def _stream_part(archive: zipfile.ZipFile, name: str) -> Iterator[bytes]:
    """The decompressed part in chunks, never more than its declared size."""
    info = archive.getinfo(name)
    seen = 0
    with archive.open(info) as handle:
        while chunk := handle.read(CHUNK):
            seen += len(chunk)
            if seen > info.file_size:
                raise FileRejected(_("The workbook is damaged (not a valid .xlsx file)."))
            yield chunk


def _first_sheet(archive: zipfile.ZipFile) -> tuple[str, str]:
    names = set(archive.namelist())
    if "xl/workbook.xml" not in names:
        if "mimetype" in names or "content.xml" in names:
            raise FileRejected(
                _(
                    "OpenDocument spreadsheets (.ods) are not supported. Save the file as .xlsx or CSV."
                )
            )
        raise FileRejected(
            _("This is not an Excel workbook. Upload an .xlsx workbook or a CSV file.")
        )
    workbook = SafeET.fromstring(_read_part(archive, "xl/workbook.xml"), forbid_dtd=True)
    rels = SafeET.fromstring(_read_part(archive, "xl/_rels/workbook.xml.rels"), forbid_dtd=True)
    targets = {
        rel.get("Id"): rel.get("Target", "") for rel in rels.iter(f"{NS_PKG_REL}Relationship")
    }
    for sheet in workbook.iter(f"{NS_MAIN}sheet"):
        if sheet.get("state") in {"hidden", "veryHidden"}:
            continue
        target = targets.get(sheet.get(f"{NS_REL}id"), "")
        target = target.lstrip("/")
        if not target.startswith("xl/"):
            target = f"xl/{target}"
        if target in names:
            return sheet.get("name", ""), target
    raise FileRejected(_("The workbook has no worksheet."))


class SharedStrings:
    """The shared string table kept as one UTF-8 blob and offsets (a few bytes per string)."""

    def __init__(self) -> None:
        self.blob = bytearray()
        self.offsets = array("Q", [0])

    def add(self, text: str) -> None:
        self.blob += text.encode()
        self.offsets.append(len(self.blob))

    def __getitem__(self, index: int) -> str:
        return self.blob[self.offsets[index] : self.offsets[index + 1]].decode()

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def cached(self, limit: int = 65536) -> Any:
        """``self[i]``, remembering the strings asked for (most cells repeat a few strings)."""
        seen: dict[int, str] = {}

        def get(index: int) -> str:
            text = seen.get(index)
            if text is None:
                if len(seen) >= limit:
                    seen.clear()
                text = seen[index] = self[index]
            return text

        return get


_SI = re.compile(rb"<(?:\w+:)?si\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?si>)", re.DOTALL)
_T = re.compile(rb"<(?:\w+:)?t\b[^>]*?(?:/>|>([^<]*)</(?:\w+:)?t>)")
_PHONETIC = re.compile(rb"<(?:\w+:)?rPh\b.*?</(?:\w+:)?rPh>", re.DOTALL)
_ENTITY = re.compile(r"&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _unescape_entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if name[0] == "#":
        return chr(int(name[2:], 16) if name[1] in "xX" else int(name[1:]))
    return _NAMED[name]


def xml_text(raw: bytes) -> str:
    text = raw.decode()
    if "&" in text:
        text = _ENTITY.sub(_unescape_entity, text)
    if "_x" in text:  # Excel's escapes for control characters: _x000D_
        text = re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)
    return text


def _elements(
    archive: zipfile.ZipFile, name: str, pattern: re.Pattern[bytes], close: bytes
) -> Iterator[bytes]:
    """Complete elements matched by ``pattern`` from a streamed part (never the whole part in memory)."""
    buffer = b""
    for chunk in _stream_part(archive, name):
        buffer += chunk
        cut = buffer.rfind(close)
        if cut < 0:
            continue
        cut += len(close)
        yield from pattern.findall(buffer, 0, cut)
        buffer = buffer[cut:]
    if buffer:
        yield from pattern.findall(buffer)


def _shared_strings(archive: zipfile.ZipFile) -> SharedStrings:
    table = SharedStrings()
    if "xl/sharedStrings.xml" not in archive.namelist():
        return table
    _scan_dtd(archive, "xl/sharedStrings.xml")
    for inner in _elements(archive, "xl/sharedStrings.xml", _SI, b"</si>"):
        if b"<rPh" in inner:
            inner = _PHONETIC.sub(b"", inner)
        table.add("".join(xml_text(t) for t in _T.findall(inner)))
    return table


def _date_styles(archive: zipfile.ZipFile) -> set[int]:
    """Indexes of the cell styles that display a date (so their numbers are dates)."""
    if "xl/styles.xml" not in archive.namelist():
        return set()
    styles = SafeET.fromstring(_read_part(archive, "xl/styles.xml"), forbid_dtd=True)
    custom = {}
    for fmt in styles.iter(f"{NS_MAIN}numFmt"):
        code = re.sub(r'"[^"]*"|\[[^\]]*\]', "", fmt.get("formatCode", ""))
        custom[int(fmt.get("numFmtId", "0"))] = bool(_DATE_CODE.search(code))
    out = set()
    xfs = styles.find(f"{NS_MAIN}cellXfs")
    if xfs is not None:
        for index, xf in enumerate(xfs.iter(f"{NS_MAIN}xf")):
            fmt_id = int(xf.get("numFmtId", "0"))
            if fmt_id in _DATE_FORMAT_IDS or custom.get(fmt_id):
                out.add(index)
    return out


def _scan_dtd(archive: zipfile.ZipFile, name: str) -> None:
    for chunk in _stream_part(archive, name):
        if _DTD.search(chunk[:4096]):
            raise FileRejected(
                _(
                    "The workbook contains XML that is not accepted (document type declarations or "
                    "entities). Save it again from Excel or WPS."
                )
            )
        break


def scan_sheet(archive: zipfile.ZipFile, name: str) -> None:
    """Refuse formulas and merged cells, naming the cells, before reading any row."""
    tail = b""
    formulas = False
    merged: list[str] = []
    first = True
    for chunk in _stream_part(archive, name):
        if first and _DTD.search(chunk[:4096]):
            raise FileRejected(
                _(
                    "The workbook contains XML that is not accepted (document type declarations or "
                    "entities). Save it again from Excel or WPS."
                )
            )
        first = False
        window = tail + chunk
        # The substring tests are much quicker than the expressions and rule out a match when
        # they fail (a formula tag holds "<f" or, with a prefix, ":f").
        if not formulas and (b"<f" in window or b":f" in window) and _FORMULA.search(window):
            formulas = True
        if b"mergeCell" in window:
            merged.extend(m.decode() for m in _MERGE.findall(window) if m.decode() not in merged)
        tail = window[-64:]
    if formulas:
        cells = _formula_cells(archive, name)
        raise FileRejected(
            _(
                "Cells with formulas are not imported: %(cells)s. Copy the sheet and paste it as "
                "values only (Paste Special → Values), then upload it again."
            )
            % {"cells": ", ".join(cells[:10]) + (" …" if len(cells) > 10 else "")}
        )
    if merged:
        raise FileRejected(
            _(
                "The sheet has merged cells (%(cells)s). Unmerge them and fill in every cell, so that "
                "each row stands on its own, then upload it again."
            )
            % {"cells": ", ".join(merged[:10])}
        )


def _formula_cells(archive: zipfile.ZipFile, name: str) -> list[str]:
    cells: list[str] = []
    current = ""
    c_tag, f_tag = f"{NS_MAIN}c", f"{NS_MAIN}f"
    with archive.open(name) as handle:
        for event, element in SafeET.iterparse(handle, events=("start", "end"), forbid_dtd=True):
            if event == "start":
                if element.tag == c_tag:
                    current = element.get("r", "")
                continue
            if element.tag == f_tag and current and (not cells or cells[-1] != current):
                cells.append(current)
                if len(cells) > 10:
                    break
            elif element.tag == c_tag:
                element.clear()
    return cells or ["?"]


def _read_xlsx(archive: zipfile.ZipFile) -> Table:
    check_zip(archive)
    _sheet_name, sheet_part = _first_sheet(archive)
    scan_sheet(archive, sheet_part)
    strings = _shared_strings(archive)
    date_styles = _date_styles(archive)
    estimate = _dimension_rows(archive, sheet_part)
    rows = _xlsx_rows(archive, sheet_part, strings, date_styles)
    header_row, header_values = _first_non_empty(rows)
    headers = _header(header_values, header_row)
    return Table(
        headers=headers,
        header_row=header_row,
        kind="xlsx",
        estimated_rows=max((estimate or 0) - header_row, 1) if estimate else None,
        _rows=rows,
        _closers=[archive],
    )


def _dimension_rows(archive: zipfile.ZipFile, name: str) -> int | None:
    for chunk in _stream_part(archive, name):
        match = re.search(rb'<(?:\w+:)?dimension\s+ref="[A-Z]+\d+:[A-Z]+(\d+)"', chunk[:8192])
        return int(match.group(1)) if match else None
    return None


def _col_index(ref: str) -> int:
    index = 0
    for char in ref:
        if "A" <= char <= "Z":
            index = index * 26 + ord(char) - 64
        else:
            break
    return index - 1


_ROW = re.compile(rb"<(?:\w+:)?row\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?row>)", re.DOTALL)
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.DOTALL)
_ATTR_R = re.compile(rb'\br="([A-Z]+)')
_ATTR_ROW = re.compile(rb'\br="(\d+)"')
_ATTR_T = re.compile(rb'\bt="(\w+)"')
_ATTR_S = re.compile(rb'\bs="(\d+)"')
_V = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")


# The shape every common writer (Excel, WPS, LibreOffice, openpyxl) uses for rows and cells; a
# buffer with any other shape (namespace prefixes, other attribute orders) takes the general path.
_FAST = re.compile(
    rb'<row r="(\d+)"[^>]*>'
    rb'|<c r="([A-Z]+)\d+"(?: s="(\d+)")?(?: t="(\w+)")?(?: [^>/]*)?'
    rb"(?:/>|>(?:<v>([^<]*)</v>|<is><t(?: [^>]*)?>([^<]*)</t></is>)?</c>)"
)


_LETTERS = itemgetter(1)

# A row whose cells all have one of the plain shapes (a value or an inline string, nothing else):
# the model for :class:`_RowShape`.
_PLAIN_ROW = re.compile(
    rb'<row r="\d+"[^>]*>((?:<c r="[A-Z]+\d+"(?: s="\d+")?(?: t="\w+")?>'
    rb"(?:<v>[^<]*</v>|<is><t(?: [^>]*)?>[^<]*</t></is>)</c>)+)</row>"
)
_PLAIN_CELL = re.compile(rb'<c r="([A-Z]+)\d+"(?: s="(\d+)")?(?: t="(\w+)")?>(<v>|<is>)')


_SHAPE_KINDS = {b"s", b"n", b"", b"b", b"str", b"inlineStr", b"d"}


class _RowShape:
    """Rows with the same cells as one model row, read a chunk at a time with one expression.

    Machine-written sheets repeat one shape of row (the same columns and types) from top to
    bottom. The expression built from the model row matches a whole row and captures its values
    (and the style of numbers, which makes them dates or not); a chunk is read this way only when
    every one of its rows matches, and each value is converted exactly as the cell-by-cell path
    converts it. Any other chunk takes that path.
    """

    def __init__(self, pattern: re.Pattern[bytes], cells: list[tuple[int, str, bytes]]):
        self.pattern = pattern
        self.cells = cells  # (column index, how to convert, type) in the row's order
        self.width = 1 + max((c[0] for c in cells if c[0] < MAX_COLUMNS), default=-1)

    @classmethod
    def learn(cls, data: bytes, at: int) -> _RowShape | None:
        """The shape of the row starting at ``data[at]``, if all its cells are plain."""
        match = _PLAIN_ROW.match(data, max(at, 0))
        if match is None:
            return None
        parts = [rb'<row r="(\d+)"[^>]*>']
        cells: list[tuple[int, str, bytes]] = []
        last = -1
        for letters, _style, kind, form in _PLAIN_CELL.findall(match.group(1)):
            col = _col_index(letters.decode())
            if col <= last:
                return None  # columns out of order or repeated: leave it to the general path
            last = col
            typed = b' t="' + kind + b'"' if kind else b""
            if form == b"<is>":
                how = "text"
                body = rb"><is><t(?: [^>]*)?>([^<]*)</t></is></c>"
            elif kind not in _SHAPE_KINDS:
                return None  # an error cell (#N/A) reads as empty: not worth a shape
            else:
                how = "shared" if kind == b"s" else "number" if kind in (b"n", b"") else "other"
                body = rb"><v>([^<]*)</v></c>"
            style = rb'(?: s="(\d+)")?' if how == "number" else rb'(?: s="\d+")?'
            parts.append(b'<c r="' + letters + rb'\d+"' + style + typed + body)
            cells.append((col, how, kind))
        parts.append(b"</row>")
        return cls(re.compile(b"".join(parts)), cells)

    def read(
        self, data: bytes, string: Any, convert: Any, text: Any, date_styles: set[bytes]
    ) -> list[tuple[int, list[Any]]] | None:
        """The rows of ``data``, or None when some row has another shape."""
        found = self.pattern.findall(data)
        if len(found) != data.count(b"<row"):
            return None
        if not found:
            return []
        captured = iter(list(zip(*found, strict=True)))
        numbers = list(map(int, next(captured)))
        columns: list[list[Any]] = [[None] * len(found)] * self.width
        for col, how, kind in self.cells:
            styles = next(captured) if how == "number" else ()
            raws = next(captured)
            if col >= MAX_COLUMNS:
                continue
            if how == "text":
                if text is bytes.decode and b"" not in raws:
                    columns[col] = list(map(bytes.decode, raws))
                else:
                    columns[col] = [text(raw) if raw else None for raw in raws]
            elif how == "shared":
                columns[col] = [string(int(raw)) if raw else None for raw in raws]
            elif how == "number" and not date_styles.intersection(styles):
                columns[col] = [
                    (float(raw) if (b"." in raw or b"E" in raw or b"e" in raw) else int(raw))
                    if raw
                    else None
                    for raw in raws
                ]
            elif how == "number":
                columns[col] = [
                    convert(kind, style, raw) if raw else None
                    for style, raw in zip(styles, raws, strict=True)
                ]
            else:
                columns[col] = [convert(kind, b"", raw) if raw else None for raw in raws]
        rows = list(map(list, zip(*columns, strict=True)))
        if None in columns[-1]:
            # the cell-by-cell path makes a row only as long as its last cell with a value
            for values in rows:
                while values and values[-1] is None:
                    values.pop()
        return list(zip(numbers, rows, strict=True))


def _xlsx_rows(
    archive: zipfile.ZipFile, name: str, strings: SharedStrings, date_styles: set[int]
) -> Iterator[tuple[int, list[Any]]]:
    """Stream (row number, values) from a worksheet.

    The part has been scanned first (:func:`scan_sheet`): no DTD, hence no entity can expand, and
    no formula. Rows are cut from the decompressed stream with regular expressions, which reads a
    million rows in seconds where a tree builder takes minutes.
    """
    col_cache: dict[bytes, int] = {}
    buffer = b""
    row_number = 0
    values: list[Any] | None = None
    date_style_bytes = {str(i).encode() for i in date_styles}
    string = strings.cached()

    def convert(kind: bytes, style: bytes, raw: bytes) -> Any:
        if kind == b"s":
            return strings[int(raw)]
        if kind == b"n" or kind == b"":
            number: float | int = (
                float(raw) if (b"." in raw or b"E" in raw or b"e" in raw) else int(raw)
            )
            if style and style in date_style_bytes:
                return _serial_to_datetime(float(number))
            return number
        if kind == b"str" or kind == b"inlineStr":
            return xml_text(raw)
        if kind == b"b":
            return raw == b"1"
        if kind == b"d":
            return datetime.fromisoformat(raw.decode())
        return None  # errors (#N/A…) read as empty

    shape: _RowShape | None = None
    misses = 0

    def process(data: bytes) -> Iterator[tuple[int, list[Any]]]:
        nonlocal shape, misses
        # No entity and no _xHHHH_ escape anywhere in the rows: text is the bytes decoded.
        plain = b"&" not in data and b"_x" not in data
        text = bytes.decode if plain else xml_text
        if shape is None and misses < 3:
            # (from the last row: the first one of the file is the header)
            shape = _RowShape.learn(data, data.rfind(b"<row"))
        if shape is not None:
            rows = shape.read(data, string, convert, text, date_style_bytes)
            if rows is not None:
                misses = 0
                yield from rows
                return
            cut = data.find(b"</row>") + len(b"</row>")  # all but a first row of another shape?
            rows = (
                shape.read(data[cut:], string, convert, text, date_style_bytes)
                if 0 < cut < len(data)
                else None
            )
            if rows is not None:
                misses = 0
                yield from by_cell(data[:cut])
                yield from rows
                return
            shape = None
            misses += 1
        yield from by_cell(data)

    def by_cell(data: bytes) -> Iterator[tuple[int, list[Any]]]:
        nonlocal row_number, values
        plain = b"&" not in data and b"_x" not in data
        text = bytes.decode if plain else xml_text
        found = _FAST.findall(data)
        cells = len(found) - list(map(_LETTERS, found)).count(b"")  # row starts have no letters
        if cells != data.count(b"<c ") + data.count(b"<c>"):
            yield from _general_rows(data, convert, col_cache)
            return
        for row, letters, style, kind, v, inline in found:
            if row:
                if values is not None:
                    yield row_number, values
                row_number = int(row)
                values = []
                continue
            if not v and not inline:
                continue
            col = col_cache.get(letters)
            if col is None:
                col = col_cache[letters] = _col_index(letters.decode())
            if col >= MAX_COLUMNS or values is None:
                continue
            if not v:
                cell: Any = text(inline)
            elif kind == b"s":
                cell = string(int(v))
            elif (kind == b"n" or kind == b"") and not (style and style in date_style_bytes):
                cell = float(v) if (b"." in v or b"E" in v or b"e" in v) else int(v)
            else:
                cell = convert(kind, style, v)
            size = len(values)
            if col == size:
                values.append(cell)
            else:
                if col > size:
                    values.extend([None] * (col - size + 1))
                values[col] = cell
        if values is not None:
            yield row_number, values
            values = None

    for chunk in _stream_part(archive, name):
        buffer += chunk
        cut = buffer.rfind(b"</row>")
        if cut < 0:
            continue
        cut += len(b"</row>")
        start = buffer.find(b"<row")
        start = 0 if start < 0 else start
        yield from process(buffer[start:cut] if start < cut else b"")
        buffer = buffer[cut:]
    tail_start = buffer.find(b"<row")
    if tail_start >= 0:
        yield from process(buffer[tail_start:])


def _general_rows(
    data: bytes, convert: Any, col_cache: dict[bytes, int]
) -> Iterator[tuple[int, list[Any]]]:
    """Any valid row / cell shape (prefixes, attribute orders), more slowly."""
    row_number = 0
    for attrs, body in _ROW.findall(data):
        match = _ATTR_ROW.search(attrs)
        row_number = int(match.group(1)) if match else row_number + 1
        values: list[Any] = []
        next_col = 0
        for cell_attrs, inner in _CELL.findall(body):
            ref = _ATTR_R.search(cell_attrs)
            col = _col_index(ref.group(1).decode()) if ref else next_col
            next_col = col + 1
            if col >= MAX_COLUMNS or not inner:
                continue
            kind_match = _ATTR_T.search(cell_attrs)
            kind = kind_match.group(1) if kind_match else b"n"
            if kind == b"inlineStr":
                cell: Any = "".join(xml_text(t) for t in _T.findall(inner))
            else:
                v = _V.search(inner)
                if v is None:
                    continue
                style = _ATTR_S.search(cell_attrs)
                cell = convert(kind, style.group(1) if style else b"", v.group(1))
            if col >= len(values):
                values.extend([None] * (col - len(values) + 1))
            values[col] = cell
        yield row_number, values


def _serial_to_datetime(serial: float) -> Any:
    from datetime import timedelta

    day = EXCEL_EPOCH + timedelta(days=int(serial))
    seconds = round((serial - int(serial)) * 86400)
    if not seconds:
        return day
    return datetime.combine(day, datetime.min.time()) + timedelta(seconds=min(seconds, 86399))


def sheet_preview(table: Table, limit: int = 5) -> list[list[Any]]:
    """The first rows (for the mapping step). Consumes them; reopen the table to import."""
    out = []
    for _number, values in table.rows():
        out.append(values[: len(table.headers)])
        if len(out) >= limit:
            break
    return out


def open_binary(handle: IO[bytes]) -> IO[bytes]:  # pragma: no cover - kept for symmetry
    return handle
