"""CSV and XLSX files of the pilot's lists and indicators.

Every cell of every export goes through ``safe_cell``: a text starting with = + - @ or a
tab or carriage return would be read as a formula by a spreadsheet (CSV injection), so it
gets a leading single quote.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
Cell = str | int | float | date | None

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Table:
    """One sheet: a title (the XLSX sheet name), column headers and rows."""

    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Cell]] = field(default_factory=list)


def safe_cell(value: Cell) -> Cell:
    """``value`` made inert for spreadsheets: the one neutralising function of exports."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    return value


def to_csv(tables: Sequence[Table]) -> bytes:
    """UTF-8 with a BOM and semicolons, as French spreadsheets expect; tables one after
    another, each with its title line and headers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for index, table in enumerate(tables):
        if index:
            writer.writerow([])
        if len(tables) > 1:
            writer.writerow([safe_cell(table.title)])
        writer.writerow([safe_cell(h) for h in table.headers])
        for row in table.rows:
            writer.writerow([_csv_text(safe_cell(value)) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_xlsx(tables: Sequence[Table]) -> bytes:
    """One sheet per table; text cells are typed as text, never as formulas."""
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    for table in tables:
        sheet = workbook.create_sheet(_sheet_name(table.title))
        sheet.append([safe_cell(h) for h in table.headers])
        for row in table.rows:
            sheet.append([safe_cell(value) for value in row])
        for cells in sheet.iter_rows():
            for cell in cells:
                if isinstance(cell.value, str):
                    cell.data_type = TYPE_STRING
                elif isinstance(cell.value, date):
                    cell.number_format = "DD/MM/YYYY"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet_name(title: str) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in title).strip("' ")
    return (cleaned or "Feuille")[:31]
