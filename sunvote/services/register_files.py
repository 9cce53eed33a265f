"""Register files: reading a CSV (UTF-8 or GBK) or XLSX file into rows of text, the import
templates, and writing a register out as CSV or XLSX without letting a cell become a formula."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from sunvote.domain.errors import N_, InvalidInput
from sunvote.domain.register_import import COLUMN_BY_KEY, COLUMNS, EXAMPLE_ROWS, FILE_RULE

#: The largest file accepted, in bytes (the web layer should refuse larger uploads earlier).
MAX_BYTES = 5 * 1024 * 1024
#: Columns of an XLSX sheet read at most: the template has 14; formatting can claim thousands.
MAX_COLUMNS = 100

_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # old binary .xls (and other OLE2 compound files)
_ZIP_MAGIC = b"PK\x03\x04"  # .xlsx is a zip archive
_UNREADABLE = N_("文件无法读取，请确认是未损坏的.xlsx文件，或UTF-8、GBK编码的.csv文件")
_BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DELIMITERS = (",", "\t", ";")
#: A leading character that makes a spreadsheet read the cell as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Columns kept as text in the XLSX template, so Excel keeps leading zeros and all 18 digits.
_TEXT_KEYS = ("household", "id_number", "phone", "rep_starts_on", "rep_ends_on")


@dataclass(frozen=True)
class Table:
    """The text of a file's first sheet: the header row (trimmed; an unnamed column is ""), and
    each non-empty data row as (row number as Excel shows it, header → cell text). ``encoding``
    is "utf-8", "gb18030" or "xlsx"."""

    headers: tuple[str, ...]
    rows: tuple[tuple[int, dict[str, str]], ...]
    encoding: str


def _refuse(msgid: str, **params: object) -> InvalidInput:
    return InvalidInput(FILE_RULE, msgid, **params)


def read_table(filename: str, data: bytes, *, max_rows: int = 10000,
               max_bytes: int = MAX_BYTES) -> Table:
    """Read an uploaded .csv or .xlsx file into a :class:`Table`. Refuses (``InvalidInput``,
    rule ``import.file``) an empty, oversized, unreadable or old .xls file, one of another type,
    one without a header row or with a repeated header, and one of more than ``max_rows`` rows.
    Formulas are never evaluated: a formula cell reads as its text, starting with "="."""
    if not data:
        raise _refuse(N_("文件是空的"))
    if len(data) > max_bytes:
        raise _refuse(N_("文件不能超过%(max)sMB"), max=round(max_bytes / 1024 / 1024, 1))
    if data.startswith(_OLE_MAGIC):
        raise _refuse(N_("这是旧版Excel（.xls）文件，请将文件另存为.xlsx或.csv格式"))
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise _refuse(N_("只能导入.csv或.xlsx文件"))
    if data.startswith(_ZIP_MAGIC):
        return _read_xlsx(data, max_rows)
    if suffix == ".xlsx":
        raise _refuse(_UNREADABLE)
    return _read_csv(data, max_rows)


def _table(records: Iterable[tuple[int, list[str]]], encoding: str, max_rows: int) -> Table:
    """The header (the first non-empty record) and the non-empty data rows after it."""
    headers: tuple[str, ...] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    for line, record in records:
        cells = [cell.strip() for cell in record]
        if not any(cells):
            continue
        if headers is None:
            names = [cell.strip("\ufeff \u3000") for cell in cells]
            while names and not names[-1]:
                names.pop()
            named = [n for n in names if n]
            repeated = next((n for n in named if named.count(n) > 1), None)
            if repeated is not None:
                raise _refuse(N_("列名“%(name)s”重复，请只保留一列"), name=repeated)
            headers = tuple(names)
            continue
        if len(rows) >= max_rows:
            raise _refuse(N_("文件超过%(max)s行，请分批导入"), max=max_rows)
        rows.append((line, {header: cells[i] if i < len(cells) else ""
                            for i, header in enumerate(headers) if header}))
    if headers is None:
        raise _refuse(N_("文件中没有表头行"))
    return Table(headers, tuple(rows), encoding)


# --- CSV ----------------------------------------------------------------------------------------

def _read_csv(data: bytes, max_rows: int) -> Table:
    """A CSV file in UTF-8 (with or without BOM) or GBK/GB18030, separated by commas, or by tabs or
    semicolons when the header line clearly uses those."""
    try:
        text, encoding = data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        try:
            text, encoding = data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError as error:
            raise _refuse(_UNREADABLE) from error
    # Control characters mean this is not a text file (random bytes often decode as GB18030).
    if _BINARY.search(text):
        raise _refuse(_UNREADABLE)
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    delimiter = max(_DELIMITERS, key=lambda d: (counts[d], d == ","))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        # Excel shows each record, blank ones too, as one row: the header is row 1.
        return _table(enumerate(reader, start=1), encoding, max_rows)
    except csv.Error as error:
        raise _refuse(_UNREADABLE) from error


# --- XLSX ---------------------------------------------------------------------------------------

def _read_xlsx(data: bytes, max_rows: int) -> Table:
    """The first worksheet of an XLSX file, read without evaluating anything."""
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as error:  # openpyxl raises many kinds of error on a damaged file
        raise _refuse(_UNREADABLE) from error
    try:
        if not workbook.worksheets:
            raise _refuse(N_("文件中没有表头行"))
        sheet = workbook.worksheets[0]
        return _table(_xlsx_records(sheet), "xlsx", max_rows)
    except InvalidInput:
        raise
    except Exception as error:  # cells are parsed lazily: damage can show up while reading
        raise _refuse(_UNREADABLE) from error
    finally:
        workbook.close()


def _xlsx_records(sheet: object) -> Iterator[tuple[int, list[str]]]:
    """Each row of ``sheet`` (a read-only worksheet) as its row number and cell texts."""
    max_col = min(getattr(sheet, "max_column", None) or MAX_COLUMNS, MAX_COLUMNS)
    rows = sheet.iter_rows(min_row=1, max_col=max_col)  # type: ignore[attr-defined]
    for number, row in enumerate(rows, start=1):
        yield number, [_cell_text(cell.value, cell.data_type) for cell in row]


def _cell_text(value: object, data_type: str | None) -> str:
    """A cell's value as the text the planner reads. A formula stays its text (starting with
    "="), never evaluated; a float of 16 digits or more, which Excel has already rounded, reads as
    Excel shows it (3.31102198001011e+17), which the planner refuses with a hint."""
    if value is None:
        return ""
    if data_type == "f":
        formula = value if isinstance(value, str) else str(getattr(value, "text", "") or "")
        return formula if formula.startswith("=") else "=" + formula
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if abs(value) >= 1e15:
            return format(value, ".15g")
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


# --- templates ----------------------------------------------------------------------------------

def _template_rows() -> list[list[str]]:
    return [[example[c.key] for c in COLUMNS] for example in EXAMPLE_ROWS]


def template_csv() -> bytes:
    """The import template as CSV: UTF-8 with BOM (so Excel shows the Chinese), the header row
    and two example rows (a household head who is a representative, and a family member)."""
    return write_csv([c.header for c in COLUMNS], _template_rows())


def template_xlsx() -> bytes:
    """The import template as XLSX: the header and the two example rows, the number-like
    columns formatted as text, and a second sheet "填写说明" explaining each column."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "村民名册"
    text_columns = {list(COLUMN_BY_KEY).index(key) + 1 for key in _TEXT_KEYS}
    sheet.append([c.header for c in COLUMNS])
    for example in _template_rows():
        sheet.append(example)
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.cell(1, index).font = Font(bold=True)
        width = 22 if column.key == "id_number" else max(10, 2 * len(column.header) + 4)
        sheet.column_dimensions[letter].width = width
        if index in text_columns:
            # The column style covers the rows the clerk adds; the cells set so far need it too.
            sheet.column_dimensions[letter].number_format = "@"
            for row in range(2, len(EXAMPLE_ROWS) + 2):
                sheet.cell(row, index).number_format = "@"
    sheet.freeze_panes = "A2"
    notes = workbook.create_sheet("填写说明")
    notes.append(["列名", "是否必填", "填写说明"])
    for column in COLUMNS:
        notes.append([column.header, "必填" if column.required else "选填", column.help])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    notes.column_dimensions["A"].width = 16
    notes.column_dimensions["B"].width = 10
    notes.column_dimensions["C"].width = 90
    for row in notes.iter_rows(min_row=2):
        row[2].alignment = Alignment(wrap_text=True, vertical="top")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- export -------------------------------------------------------------------------------------

def _export_text(value: object) -> str:
    """A value as exported text: None empty, booleans 是/否, dates YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _csv_safe(text: str) -> str:
    """``text`` prefixed with ' if a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A register as CSV (UTF-8 with BOM, CRLF lines, as Excel expects). A cell starting with
    = + - @, a tab or a carriage return is prefixed with ' so no spreadsheet runs it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_csv_safe(_export_text(h)) for h in headers])
    for row in rows:
        writer.writerow([_csv_safe(_export_text(cell)) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_xlsx(headers: Sequence[str], rows: Iterable[Sequence[object]], *,
               sheet_title: str = "村民名册") -> bytes:
    """A register as XLSX: every cell a text cell (data type "s", number format "@"), so a value
    such as "=1+1" is kept as written and never becomes a formula; header bold, widths fitted."""
    return write_xlsx_sheets([(sheet_title, headers, rows)])


def write_xlsx_sheets(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[object]]]]
                      ) -> bytes:
    """An XLSX with one sheet per (title, headers, rows), each written as :func:`write_xlsx`
    writes its one sheet (text cells only, bold header, fitted widths)."""
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    workbook.remove(first)
    for title, headers, rows in sheets:
        _fill_sheet(workbook.create_sheet(title), headers, rows)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _fill_sheet(sheet: Any, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    widths = [0] * len(headers)
    for row_number, row in enumerate([list(headers), *rows], start=1):
        for index, value in enumerate(row, start=1):
            text = ILLEGAL_CHARACTERS_RE.sub("", _export_text(value))
            cell = sheet.cell(row_number, index)
            cell.value = text
            cell.data_type = "s"  # set after the value: openpyxl marks "=..." as a formula
            cell.number_format = "@"
            if row_number == 1:
                cell.font = Font(bold=True)
            if index <= len(widths):
                widths[index - 1] = max(widths[index - 1], _display_width(text))
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 8), 60)
    sheet.freeze_panes = "A2"


def _display_width(text: str) -> int:
    """Roughly how many character widths ``text`` takes (a Chinese character counts two)."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
