"""CSV and XLSX writers of the pilot: formula injection neutralised by one function."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from ticketing.reporting.exports import FORMULA_STARTS, Table, safe_cell, to_csv, to_xlsx

HOSTILE = ["=1+1", "+33 6 12", "-2+3", "@SUM(A1)", "\tnested", "\rline",
           "=HYPERLINK(\"http://evil.example\",\"clic\")", "=cmd|' /C calc'!A0"]


@pytest.mark.parametrize("value", HOSTILE)
def test_safe_cell_prefixes_a_quote(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Voirie", "", "a=b", " =1", "'déjà", 42, -3, 1.5, None,
                                   date(2025, 3, 3)])
def test_safe_cell_leaves_harmless_values(value) -> None:  # type: ignore[no-untyped-def]
    assert safe_cell(value) == value


def _table() -> Table:
    return Table("=Titre", ["=En-tête", "Nombre", "Date"],
                 [[value, index, date(2025, 3, index + 1)] for index, value in enumerate(HOSTILE)])


def test_csv_is_neutralised_everywhere_and_readable_by_french_spreadsheets() -> None:
    body = to_csv([_table(), Table("Seconde", ["@a"], [["+b"]])])
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=";"))
    cells = [cell for row in rows for cell in row if cell]
    assert not [c for c in cells if c.startswith(FORMULA_STARTS)]
    assert rows[0] == ["'=Titre"] and rows[1] == ["'=En-tête", "Nombre", "Date"]
    assert [row[0] for row in rows[2:2 + len(HOSTILE)]] == ["'" + v for v in HOSTILE]
    assert rows[2][1:] == ["0", "2025-03-01"]
    assert ["'@a"] in rows and ["'+b"] in rows


def test_xlsx_is_neutralised_everywhere_and_typed() -> None:
    workbook = load_workbook(io.BytesIO(to_xlsx([_table(), Table("a/b:c", ["x"], [[-3]])])))
    assert workbook.sheetnames == ["=Titre", "a b c"]
    sheet = workbook["=Titre"]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == ["'=En-tête", "Nombre", "Date"]
    # XML turns a carriage return into a line feed when read back; the quote is still there.
    assert [row[0] for row in values[1:]] == ["'" + v.replace("\r", "\n") for v in HOSTILE]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert values[1][1] == 0 and values[1][2].date() == date(2025, 3, 1)
    assert workbook["a b c"]["A2"].value == -3  # numbers stay numbers
