"""HTML, PDF and Excel rendered from one model: offline, readable, numbers as numbers."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from thrv.indicators.pack import build_pack
from thrv.report.files import parse_formats, write_pack
from thrv.report.model import pack_model
from thrv.store.database import Store


@pytest.fixture(scope="module")
def written(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    with Store(sample_store, read_only=True) as store:
        model = pack_model(build_pack(store, dt.date(2025, 12, 1), area="Cambridgeshire Constabulary", levels=["force", "area", "district"]))
    out = tmp_path_factory.mktemp("outputs")
    write_pack(model, out, ["html", "pdf", "xlsx"])
    return model, out


def test_json_is_strict_and_the_csv_has_the_same_rows(written: tuple[dict, Path]) -> None:
    model, out = written
    again = json.loads((out / "pack.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert again["rows"] == model["rows"]
    assert len((out / "pack.csv").read_text().strip().splitlines()) == len(model["rows"]) + 1


def test_html_opens_offline_with_inline_charts(written: tuple[dict, Path]) -> None:
    _, out = written
    html = (out / "pack.html").read_text()
    assert "<svg" in html and html.count("<svg") >= 15
    assert not re.search(r'(src|href)="https?://', html)  # nothing fetched from the network
    assert "Rolling 12 months" in html and "Performance vs baseline" in html


def test_pdf_text_has_the_pack_table(written: tuple[dict, Path]) -> None:
    _, out = written
    reader = PdfReader(io.BytesIO((out / "pack.pdf").read_bytes()))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 3
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=1)  # A4
    for heading in ("Rolling 12 months", "Baseline", "1-year average", "Key findings", "Burglary", "Fenland"):
        assert heading in text, heading
    assert re.search(r"Page 1 of \d+", text)


def test_excel_has_numbers_as_numbers_and_coloured_labels(written: tuple[dict, Path]) -> None:
    _, out = written
    book = load_workbook(out / "pack.xlsx")
    assert {"About", "Force", "Area", "District", "Indicators"} <= set(book.sheetnames)
    sheet = book["Force"]
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[header.index("indicator")] == "burglary")
    assert row[header.index("current")] == 268 and isinstance(row[header.index("current")], (int, float))
    assert isinstance(row[header.index("p_value")], float)
    rules = [r for rng in sheet.conditional_formatting for r in rng.rules]
    assert any('"Improved"' in (r.formula or [""])[0] for r in rules)


def test_format_names_are_checked() -> None:
    assert parse_formats("html, PDF,xlsx,html") == ["html", "pdf", "xlsx"]
    with pytest.raises(ValueError, match="subset of html, pdf, xlsx"):
        parse_formats("docx")
